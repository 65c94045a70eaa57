"""Bundled probe images: GET /v1/probes lists them, GET /v1/probes/{id} returns one as PNG.

Clients upload a probe to the spikes route like any image. The probes are the first
Fashion-MNIST test image of each class (when the Debian package is installed) and one image
of each category of the default category probe set (``tdsnn_core.analysis.probes``).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from functools import cache

import numpy as np
from fastapi import APIRouter, Response
from PIL import Image
from starlette.concurrency import run_in_threadpool

from backend import errors
from backend.errors import ApiError
from backend.schemas import Strict
from tdsnn_core.analysis import default_probe_set
from tdsnn_core.data import DataNotFoundError, FashionMNIST

router = APIRouter(tags=["probes"])
CATEGORY_PROBE_PX = 64


class ProbeInfo(Strict):
    id: str
    source: str
    label: str
    description: str


class ProbeList(Strict):
    probes: list[ProbeInfo]


@dataclass(frozen=True)
class _Probe:
    info: ProbeInfo
    png: bytes


@router.get("/v1/probes", response_model=ProbeList)
async def list_probes() -> ProbeList:
    """The bundled probe images (computed on first request)."""
    probes = await run_in_threadpool(bundled_probes)
    return ProbeList(probes=[p.info for p in probes.values()])


@router.get(
    "/v1/probes/{probe_id}",
    response_class=Response,
    responses={
        200: {
            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
            "description": "the probe image",
        },
        **errors.responses(404),
    },
)
async def probe_image(probe_id: str) -> Response:
    """One probe image as PNG; an unknown id is a 404 naming the known ones."""
    probes = await run_in_threadpool(bundled_probes)
    if probe_id not in probes:
        raise ApiError(
            404, f"unknown probe {probe_id!r}; known: {list(probes)}", field="path.probe_id"
        )
    return Response(probes[probe_id].png, media_type="image/png")


@cache
def bundled_probes() -> dict[str, _Probe]:
    """Probe id -> info and PNG bytes, Fashion-MNIST first."""
    probes = {}
    try:
        test = FashionMNIST(None, "test")
    except DataNotFoundError:
        test = None
    if test is not None:
        labels = test.labels.numpy()
        for index, name in enumerate(test.classes):
            first = int(np.flatnonzero(labels == index)[0])
            info = ProbeInfo(
                id=f"fashion-{_slug(name)}",
                source="Fashion-MNIST test set",
                label=name,
                description=f"Fashion-MNIST test image {first} (class {name})",
            )
            probes[info.id] = _Probe(info, _png(test.images[first].numpy()))
    categories = default_probe_set(CATEGORY_PROBE_PX, 3, per_category=2)
    for index, name in enumerate(categories.categories):
        first = int(np.flatnonzero(categories.labels == index)[0])
        pixels = categories.images[first].permute(1, 2, 0).numpy()
        info = ProbeInfo(
            id=f"category-{_slug(name)}",
            source="category probe set",
            label=name,
            description=categories.descriptions[name],
        )
        probes[info.id] = _Probe(info, _png(np.round(pixels * 255).astype(np.uint8)))
    return probes


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()
