"""Health and model description routes."""

from __future__ import annotations

import base64
import math

from fastapi import APIRouter

from backend import errors, schemas
from backend.deps import Store
from backend.registry import ModelEntry

router = APIRouter()
NO_MODELS = "no models loaded: put .safetensors checkpoints in the models folder (--models DIR)"


@router.get("/healthz", response_model=schemas.Health, tags=["service"])
async def health(store: Store) -> schemas.Health:
    """Answers while models run (inference is off the event loop)."""
    return schemas.Health(
        models=len(store.entries), device=store.device, message=None if store.entries else NO_MODELS
    )


@router.get("/v1/models", response_model=schemas.ModelList, tags=["models"])
async def list_models(store: Store) -> schemas.ModelList:
    """The served models and the files of the models folder that were skipped (and why)."""
    return schemas.ModelList(
        models=[_summary(e) for e in store.entries.values()],
        skipped=[schemas.SkippedFile(file=s.file, reason=s.reason) for s in store.skipped],
        message=None if store.entries else NO_MODELS,
    )


@router.get(
    "/v1/models/{model_id}",
    response_model=schemas.ModelInfo,
    responses=errors.responses(404, 422),
    tags=["models"],
)
async def model_info(model_id: str, store: Store, positions: bool = True) -> schemas.ModelInfo:
    """Architecture, T, classes and topographic layers; with ``positions`` (default) each
    layer's unit positions on its sheet, base64-encoded float32."""
    entry = store.get(model_id)
    config = entry.model.config
    metrics = entry.checkpoint.meta.get("metrics") or {}
    return schemas.ModelInfo(
        id=entry.id,
        architecture=entry.model.model_name,
        timesteps=entry.model.timesteps,
        input_size=config["input_size"],
        in_channels=config["in_channels"],
        classes=list(entry.classes),
        epoch=entry.checkpoint.meta.get("epoch"),
        metrics={
            k: (float(v) if math.isfinite(v) else None)
            for k, v in metrics.items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        },
        config={k: list(v) if isinstance(v, tuple) else v for k, v in config.items()},
        layers=[_layer(entry, name, positions) for name in entry.sheets],
    )


def _summary(entry: ModelEntry) -> schemas.ModelSummary:
    config = entry.model.config
    return schemas.ModelSummary(
        id=entry.id,
        architecture=entry.model.model_name,
        timesteps=entry.model.timesteps,
        input_size=config["input_size"],
        in_channels=config["in_channels"],
        num_classes=config["num_classes"],
        layers=list(entry.sheets),
    )


def _layer(entry: ModelEntry, name: str, positions: bool) -> schemas.LayerInfo:
    sheet = entry.sheets[name]
    encoded = None
    if positions:
        encoded = base64.b64encode(sheet.positions.astype("<f4", copy=False).tobytes()).decode()
    return schemas.LayerInfo(
        name=name,
        area=sheet.area,
        dims=list(sheet.dims),
        units=sheet.num_units,
        size_mm=sheet.size_mm,
        neighborhood_width_mm=sheet.neighborhood_width_mm,
        positions=encoded,
    )
