"""Selectivity maps and lesion experiments (run on the analysis pool, off the event loop)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter
from pydantic import Field

from backend import schemas
from backend.deps import ServiceSettings, Store
from backend.lesions import run_lesion
from backend.maps import MapKind, map_payload

router = APIRouter(tags=["analysis"])

MapOut = Annotated[
    schemas.OrientationMapOut | schemas.PinwheelsOut | schemas.CategoryMapOut | schemas.PatchesOut,
    Field(discriminator="kind"),
]


@router.get("/v1/models/{model_id}/maps/{kind}", response_model=MapOut)
async def maps(
    model_id: str,
    kind: MapKind,
    store: Store,
    settings: ServiceSettings,
    layer: str | None = None,
):
    """Orientation map and pinwheels (gratings; default layer: the first V1 layer), category
    t-maps and patches (category probes; default layer: the last IT layer). Computed on first
    request, then cached for the model."""
    entry = store.get(model_id)
    return await asyncio.get_running_loop().run_in_executor(
        store.analysis_pool, map_payload, entry, kind, layer, settings.probes_per_category
    )


@router.post("/v1/models/{model_id}/lesions", response_model=schemas.LesionResponse)
async def lesions(
    model_id: str,
    request: schemas.LesionRequest,
    store: Store,
    settings: ServiceSettings,
) -> schemas.LesionResponse:
    """Per-category accuracy before and after silencing a disc of the layer's sheet (or the
    given units), and after silencing as many random units of the layer (the control)."""
    entry = store.get(model_id)
    return await asyncio.get_running_loop().run_in_executor(
        store.analysis_pool,
        run_lesion,
        entry,
        request,
        settings.lesion_images,
        settings.probes_per_category,
    )
