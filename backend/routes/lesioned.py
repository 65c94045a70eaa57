"""POST /v1/models/{id}/spikes/lesioned: a spikes request run with a disc of one sheet silenced."""

from __future__ import annotations

import asyncio
from typing import Annotated

import numpy as np
import torch
from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from backend.deps import ServiceSettings, Store
from backend.registry import ModelEntry
from backend.routes.spikes import OPENAPI, plan, read_stimulus, respond
from backend.worker import Inference
from tdsnn_core.analysis import disc_units
from tdsnn_core.models import lesioned

router = APIRouter(tags=["spikes"])


@router.post("/v1/models/{model_id}/spikes/lesioned", response_model=None, openapi_extra=OPENAPI)
async def lesioned_spikes(
    model_id: str,
    request: Request,
    store: Store,
    settings: ServiceSettings,
    layer: str,
    x_mm: Annotated[float, Query(ge=-1e4, le=1e4, description="disc centre x on the sheet")],
    y_mm: Annotated[float, Query(ge=-1e4, le=1e4, description="disc centre y on the sheet")],
    radius_mm: Annotated[float, Query(ge=0.0, le=1e4)],
) -> Response:
    """The spikes route's answer (same body, same output forms) with every unit of ``layer``
    within ``radius_mm`` of (``x_mm``, ``y_mm``) silenced at every timestep; downstream layers
    show the lesion's effect. Runs on the analysis copy of the model, off the event loop."""
    entry = store.get(model_id)
    sheet = entry.sheet(layer)
    options, image = await read_stimulus(request, entry, settings)
    layers, timesteps = plan(entry, options, settings)
    units = disc_units(sheet.positions, (x_mm, y_mm), radius_mm)
    inference = await asyncio.get_running_loop().run_in_executor(
        store.analysis_pool, _run, entry, image, timesteps, layers, {layer: units}
    )
    return await run_in_threadpool(respond, entry, options, timesteps, inference)


def _run(
    entry: ModelEntry,
    image: torch.Tensor,
    timesteps: int,
    layers: tuple[str, ...],
    lesion: dict[str, np.ndarray],
) -> Inference:
    model = entry.analysis_model
    device = next(model.parameters()).device
    with entry.analysis_lock, torch.inference_mode(), lesioned(model, lesion):
        out = model(image[None].to(device), timesteps=timesteps, return_spikes=True)
    spikes = {name: out.spikes[name][:, 0].bool().cpu().numpy() for name in layers}
    return Inference(out.logits[0].float().cpu().numpy(), spikes)
