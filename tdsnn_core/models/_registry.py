"""Model registry: ``@register_model`` builders, ``create_model(name, **overrides)``."""

from __future__ import annotations

from collections.abc import Callable

from tdsnn_core.models.base import TopographicSNN

_MODELS: dict[str, Callable[..., TopographicSNN]] = {}


def register_model(builder: Callable[..., TopographicSNN]) -> Callable[..., TopographicSNN]:
    """Register a builder under its function name."""
    _MODELS[builder.__name__] = builder
    return builder


def list_models() -> list[str]:
    return sorted(_MODELS)


def create_model(name: str, **overrides) -> TopographicSNN:
    """Build a registered model; unknown names raise a ValueError listing the known ones."""
    if name not in _MODELS:
        raise ValueError(f"unknown model {name!r}; known models: {list_models()}")
    return _MODELS[name](**overrides)
