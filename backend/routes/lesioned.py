"""POST /v1/models/{id}/spikes/lesioned: a spikes request run with a disc of one sheet silenced."""

from __future__ import annotations

from typing import Annotated

import numpy as np
import torch
from fastapi import APIRouter, Query, Request, Response

from backend.deps import ServiceSettings, Store, complete
from backend.registry import ModelEntry
from backend.routes.spikes import ERRORS, OPENAPI, answer, plan, read_stimulus
from backend.schemas import SHEET_MAX_MM, LayerName
from backend.worker import Inference
from tdsnn_core.experiments import disc_units
from tdsnn_core.models import lesioned

router = APIRouter(tags=["spikes"])
Coordinate = Annotated[float, Query(ge=0.0, le=SHEET_MAX_MM, description="on the sheet (mm)")]


@router.post(
    "/v1/models/{model_id}/spikes/lesioned",
    response_model=None,
    responses=ERRORS,
    openapi_extra=OPENAPI,
)
async def lesioned_spikes(
    model_id: str,
    request: Request,
    store: Store,
    settings: ServiceSettings,
    layer: Annotated[LayerName, Query()],
    x_mm: Coordinate,
    y_mm: Coordinate,
    radius_mm: Annotated[float, Query(ge=0.0, le=SHEET_MAX_MM * 2**0.5)],
) -> Response:
    """The spikes route's answer (same body, same output forms) with every unit of ``layer``
    within ``radius_mm`` of (``x_mm``, ``y_mm``) silenced at every timestep; downstream layers
    show the lesion's effect. Runs on the model's analysis lane (its copy of the model)."""
    entry = store.get(model_id)
    sheet = entry.sheet(layer, "query.layer")
    options, image = await read_stimulus(request, entry, settings)
    layers, timesteps = plan(entry, options, settings)
    units = disc_units(sheet.positions, (x_mm, y_mm), radius_mm)
    inference = await complete(
        lambda deadline: entry.analysis.submit(
            _run, entry, image, timesteps, layers, {layer: units}, deadline=deadline
        ),
        settings.deadline_s,
    )
    return await answer(entry, options, timesteps, inference)


def _run(
    entry: ModelEntry,
    image: torch.Tensor,
    timesteps: int,
    layers: tuple[str, ...],
    lesion: dict[str, np.ndarray],
) -> Inference:
    model = entry.analysis_model
    device = next(model.parameters()).device
    with torch.inference_mode(), lesioned(model, lesion):
        out = model(image[None].to(device), timesteps=timesteps, return_spikes=True)
    spikes = {name: out.spikes[name][:, 0].bool().cpu().numpy() for name in layers}
    return Inference(out.logits[0].float().cpu().numpy(), spikes)
