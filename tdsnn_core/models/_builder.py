"""Shared plumbing of the public model builders: input statistics, defaults, override checks."""

from __future__ import annotations

from dataclasses import asdict

from tdsnn_core.models.base import TopographicSNN
from tdsnn_core.models.neurons import NeuronSettings

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
FASHION_MNIST_MEAN = (0.286,)
FASHION_MNIST_STD = (0.353,)
NEURON_DEFAULTS = asdict(NeuronSettings())  # LIF, tau 2.0, threshold 1.0, ATan, detach_reset


def build_model(
    cls: type[TopographicSNN],
    name: str,
    config: dict,
    overrides: dict,
    optional: tuple[str, ...] = (),
) -> TopographicSNN:
    """``cls(name=name, **config)`` after applying ``overrides`` (unknown keys are an error).

    ``optional`` names keyword arguments ``cls`` accepts beyond the defaults in ``config``.
    Changing ``in_channels`` alone repeats the first channel's mean and std.
    """
    known = {*config, *optional}
    unknown = set(overrides) - known
    if unknown:
        raise ValueError(
            f"unknown option(s) {sorted(unknown)} for model {name!r}; known: {sorted(known)}"
        )
    config = {**config, **overrides}
    if "in_channels" in overrides and "input_mean" not in overrides:
        config["input_mean"] = tuple(config["input_mean"][:1]) * config["in_channels"]
        config["input_std"] = tuple(config["input_std"][:1]) * config["in_channels"]
    config = {k: list(v) if isinstance(v, tuple) else v for k, v in config.items()}
    return cls(name=name, **config)
