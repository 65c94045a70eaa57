"""POST /v1/models/{id}/spikes: a stimulus (uploaded image or grating) -> spikes + prediction."""

from __future__ import annotations

import numpy as np
import torch
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from backend import errors, schemas
from backend.bodies import media_type, unsupported, validated
from backend.deps import ServiceSettings, Store, complete
from backend.encoding import MEDIA_TYPE, NWB_MEDIA_TYPE, pack_spikes, raster
from backend.errors import ApiError
from backend.images import PART_TYPES, decode_image, grating_image
from backend.registry import ModelEntry
from backend.settings import Settings
from backend.worker import Inference

router = APIRouter(tags=["spikes"])
FORM_FIELDS = {"image", "options"}
ERRORS = errors.responses(400, 404, 409, 413, 415, 422, 503, 504)
INLINE_VALUES = 2**20  # binary answers of up to this many spike values are encoded inline

OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/SpikesRequest"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["image"],
                    "additionalProperties": False,
                    "properties": {
                        "image": {
                            "type": "string",
                            "format": "binary",
                            "description": "a PNG or JPEG image of any size (resized to the "
                            "model's input); the server's upload and pixel limits apply",
                        },
                        "options": {"$ref": "#/components/schemas/SpikeOptions"},
                    },
                },
                "encoding": {
                    "image": {"contentType": ", ".join(PART_TYPES)},
                    "options": {"contentType": "application/json"},
                },
            },
        },
    },
    "responses": {
        "200": {
            "description": "binary: bit-packed spikes (layout in backend.encoding); "
            "raster and json: JSON; nwb: an NWB 2 file (HDF5) of one trial, read with pynwb "
            "(layout in tdsnn_core.export.nwb)",
            "content": {
                MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
                NWB_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
                "application/json": {
                    "schema": {
                        "oneOf": [
                            {"$ref": "#/components/schemas/SpikesRaster"},
                            {"$ref": "#/components/schemas/SpikesJSON"},
                        ]
                    }
                },
            },
        }
    },
}


@router.post(
    "/v1/models/{model_id}/spikes", response_model=None, responses=ERRORS, openapi_extra=OPENAPI
)
async def spikes(
    model_id: str,
    request: Request,
    store: Store,
    settings: ServiceSettings,
) -> Response:
    """Spikes of every unit of the chosen layers at every timestep, and the top-k prediction.

    Send JSON (``SpikesRequest``: a grating and the options) or multipart/form-data (an
    ``image`` file, PNG or JPEG of any size, resized to the model's input, and ``options``).
    """
    entry = store.get(model_id)
    options, image = await read_stimulus(request, entry, settings)
    layers, timesteps = plan(entry, options, settings)
    if packed_inline(entry, options, layers, timesteps):  # packed by the worker: see answer()

        def finish(inference: Inference) -> Response:
            return respond(entry, options, timesteps, inference)

    else:
        finish = None
    result = await complete(
        lambda deadline: entry.worker.submit(image, timesteps, layers, deadline, finish),
        settings.deadline_s,
    )
    return result if finish else await answer(entry, options, timesteps, result)


def plan(
    entry: ModelEntry, options: schemas.SpikeOptions, settings: Settings
) -> tuple[tuple[str, ...], int]:
    """The checked layers and T of a spikes request (404: unknown layer; 409: json too big)."""
    layers = tuple(dict.fromkeys(options.layers or entry.sheets))
    for layer in layers:
        entry.sheet(layer, "body.layers")
    timesteps = options.timesteps or entry.model.timesteps
    if options.output == "json":
        values = timesteps * sum(entry.sheets[layer].num_units for layer in layers)
        if values > settings.max_json_values:
            raise ApiError(
                409,
                f"the json output form is for small requests: {values} spike values exceed "
                f"{settings.max_json_values}; use output 'binary' or fewer layers",
                field="body.output",
            )
    return layers, timesteps


async def read_stimulus(
    request: Request, entry: ModelEntry, settings: Settings
) -> tuple[schemas.SpikeOptions, torch.Tensor]:
    """The options and model input of a JSON (grating) or multipart (image upload) request."""
    size, channels = entry.model.config["input_size"], entry.model.config["in_channels"]
    media = media_type(request)
    if media == "application/json":
        body = validated(schemas.SpikesRequest, await request.body(), ("body",))
        s = body.stimulus
        image = grating_image(
            size, channels, s.orientation_deg, s.cycles_per_image, s.phase_deg, s.contrast
        )
        return body, image
    if media != "multipart/form-data":
        raise unsupported(
            media,
            "application/json (a grating stimulus) or multipart/form-data (an image upload)",
        )
    async with request.form(max_files=2, max_fields=2) as form:
        unknown = sorted(set(form.keys()) - FORM_FIELDS)
        if unknown:
            raise ApiError(
                422,
                f"unknown multipart field(s) {unknown}; known: image, options",
                field=f"body.{unknown[0]}",
            )
        upload, options = form.get("image"), form.get("options") or "{}"
        if not isinstance(upload, UploadFile):
            raise ApiError(
                422, "multipart field 'image' (a PNG or JPEG file) is missing", field="body.image"
            )
        if isinstance(options, UploadFile):
            options = await options.read()
        data, declared = await upload.read(), upload.content_type
    options = validated(schemas.SpikeOptions, options, ("body", "options"))
    image = await run_in_threadpool(
        decode_image, data, declared, size, channels, settings.max_image_pixels
    )
    return options, image


def _prediction(entry: ModelEntry, logits: np.ndarray, k: int) -> schemas.Prediction:
    probabilities = torch.softmax(torch.from_numpy(logits).double(), 0).numpy()
    order = np.argsort(-probabilities, kind="stable")[:k]
    return schemas.Prediction(
        top_k=[
            schemas.ClassScore(
                index=int(i), label=entry.classes[i], probability=float(probabilities[i])
            )
            for i in order
        ]
    )


def packed_inline(
    entry: ModelEntry, options: schemas.SpikeOptions, layers: tuple[str, ...], timesteps: int
) -> bool:
    """Whether the answer is binary and small (at most :data:`INLINE_VALUES` spike values)."""
    values = timesteps * sum(entry.sheets[layer].num_units for layer in layers)
    return options.output == "binary" and values <= INLINE_VALUES


async def answer(
    entry: ModelEntry, options: schemas.SpikeOptions, timesteps: int, inference: Inference
) -> Response:
    """:func:`respond` for an inference already made: on the event loop for a small binary
    answer (packing it takes less than the hand-off to a thread and back), else in the
    threadpool. The spikes route has the worker pack a small binary answer instead, right
    after its forward pass, while the spikes are still in cache (4-5 times faster there than
    on the event loop after the pass)."""
    if packed_inline(entry, options, tuple(inference.spikes), timesteps):
        return respond(entry, options, timesteps, inference)
    return await run_in_threadpool(respond, entry, options, timesteps, inference)


def respond(
    entry: ModelEntry, options: schemas.SpikeOptions, timesteps: int, inference: Inference
) -> Response:
    """The response in the requested output form (binary, json, raster or nwb)."""
    if options.output == "nwb":
        return Response(_nwb(entry, options, timesteps, inference), media_type=NWB_MEDIA_TYPE)
    prediction = _prediction(entry, inference.logits, options.top_k)
    if options.output == "binary":
        header = {"model": entry.id, "timesteps": timesteps, "prediction": prediction.model_dump()}
        return Response(pack_spikes(header, inference.spikes), media_type=MEDIA_TYPE)
    if options.output == "json":
        body = schemas.SpikesJSON(
            model=entry.id,
            timesteps=timesteps,
            prediction=prediction,
            layers=[
                schemas.LayerSpikes(
                    name=name,
                    dims=s.shape[1:],
                    fired=[np.flatnonzero(step).tolist() for step in s.reshape(timesteps, -1)],
                )
                for name, s in inference.spikes.items()
            ],
        )
    else:
        layers = []
        for name, s in inference.spikes.items():
            sheet = entry.sheets[name]
            counts, units = raster(
                s.reshape(timesteps, -1), sheet.positions, sheet.size_mm, options.raster_cells
            )
            layers.append(
                schemas.LayerRaster(
                    name=name, size_mm=sheet.size_mm, counts=counts.tolist(), units=units.tolist()
                )
            )
        body = schemas.SpikesRaster(
            model=entry.id,
            timesteps=timesteps,
            prediction=prediction,
            cells=options.raster_cells,
            layers=layers,
        )
    return Response(body.model_dump_json(), media_type="application/json")


def _nwb(
    entry: ModelEntry, options: schemas.SpikeOptions, timesteps: int, inference: Inference
) -> bytes:
    """The NWB file of one trial: the units of the requested layers and the stimulus.
    (pynwb is imported here, by the first NWB request, not at the service's start-up.)"""
    from tdsnn_core.export.nwb import ModelRecord, TrialColumn, build_nwb, nwb_bytes
    from tdsnn_core.export.stimuli import grating_columns

    if isinstance(options, schemas.SpikesRequest):
        g = options.stimulus
        trials = grating_columns(
            [g.orientation_deg], [g.cycles_per_image], [g.phase_deg], [g.contrast], ["grey"]
        )
        stimulus = "grating"
    else:
        trials = {"image": TrialColumn(["upload"], "an uploaded PNG or JPEG image")}
        stimulus = "uploaded image"
    spikes = {name: s.reshape(timesteps, 1, -1) for name, s in inference.spikes.items()}
    record = ModelRecord.of_checkpoint(entry.checkpoint, entry.id)
    return nwb_bytes(build_nwb(spikes, entry.sheets, trials, record, stimuli=stimulus))
