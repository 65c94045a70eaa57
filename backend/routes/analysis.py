"""Selectivity maps and lesion experiments (run on the model's analysis lane)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import Field

from backend import errors, schemas
from backend.bodies import lesion_request
from backend.deps import ServiceSettings, Store, complete
from backend.lesions import lesion_units, run_lesion
from backend.maps import MapKind, map_layer, map_payload

router = APIRouter(tags=["analysis"])
ERRORS = errors.responses(404, 409, 413, 422, 503, 504)
LESION_ERRORS = errors.responses(404, 409, 413, 415, 422, 503, 504)
LESION_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {"$ref": "#/components/schemas/DiscLesion"},
                        {"$ref": "#/components/schemas/UnitLesion"},
                    ]
                }
            }
        },
    }
}

MapOut = Annotated[
    schemas.OrientationMapOut | schemas.PinwheelsOut | schemas.CategoryMapOut | schemas.PatchesOut,
    Field(discriminator="kind"),
]


@router.get("/v1/models/{model_id}/maps/{kind}", response_model=MapOut, responses=ERRORS)
async def maps(
    model_id: str,
    kind: MapKind,
    store: Store,
    settings: ServiceSettings,
    layer: Annotated[schemas.LayerName | None, Query()] = None,
):
    """Orientation map and pinwheels (gratings; default layer: the first V1 layer), category
    t-maps and patches (category probes; default layer: the last IT layer). Computed on first
    request, then cached for the model."""
    entry = store.get(model_id)
    layer = map_layer(entry, kind, layer)
    return await complete(
        lambda deadline: entry.analysis.submit(
            map_payload, entry, kind, layer, settings.probes_per_category, deadline=deadline
        ),
        settings.deadline_s,
    )


@router.post(
    "/v1/models/{model_id}/lesions",
    response_model=schemas.LesionResponse,
    responses=LESION_ERRORS,
    openapi_extra=LESION_BODY,
)
async def lesions(
    model_id: str, http: Request, store: Store, settings: ServiceSettings
) -> schemas.LesionResponse:
    """Per-category accuracy (percent) before and after silencing a disc of the layer's sheet
    (or the given units), and after silencing as many random units of the layer (the
    control)."""
    entry = store.get(model_id)
    request = await lesion_request(http)
    units = lesion_units(entry, request)
    return await complete(
        lambda deadline: entry.analysis.submit(
            run_lesion,
            entry,
            request,
            units,
            settings.lesion_images,
            settings.probes_per_category,
            deadline=deadline,
        ),
        settings.deadline_s,
    )
