"""Python client of the TDSNN service (httpx; numpy, no torch): scripts, notebooks, dashboard.

>>> with TDSNNClient("http://127.0.0.1:8000") as client:
...     info = client.model("fmnist_stc")
...     result = client.spikes("fmnist_stc", image=Path("shoe.png").read_bytes())
...     result.spikes["layer4.1"].shape  # (T, C, H, W), bool
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np

from backend.encoding import MEDIA_TYPE, NWB_MEDIA_TYPE, unpack_spikes


class ServiceError(RuntimeError):
    """A 4xx/5xx answer: ``status`` and the service's ``code``, ``detail`` and ``field``."""

    def __init__(
        self, status: int, detail: str, code: str | None = None, field: str | None = None
    ) -> None:
        super().__init__(f"{status}: {detail}")
        self.status, self.detail, self.code, self.field = status, detail, code, field


@dataclass(frozen=True)
class Spikes:
    """A decoded binary spikes response."""

    model: str
    timesteps: int
    prediction: list[dict]
    spikes: dict[str, np.ndarray]


def decode_spikes(data: bytes) -> Spikes:
    """Decode the binary form (layout in :mod:`backend.encoding`): spikes bool [T, C, H, W]."""
    header, spikes = unpack_spikes(data)
    return Spikes(header["model"], header["timesteps"], header["prediction"]["top_k"], spikes)


def decode_positions(layer: dict) -> np.ndarray:
    """A layer record's base64 positions as float32 [units, 2] (x, y in mm)."""
    raw = base64.b64decode(layer["positions"])
    return np.frombuffer(raw, dtype="<f4").reshape(-1, 2)


class TDSNNClient:
    """Synchronous client; ``token`` is sent as a bearer token when given."""

    def __init__(
        self, base_url: str = "http://127.0.0.1:8000", token: str | None = None, timeout=300.0
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=base_url, headers=headers, timeout=timeout)

    def __enter__(self) -> TDSNNClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def health(self) -> dict:
        return self._json(self.http.get("/healthz"))

    def models(self) -> dict:
        """{"models": [...], "skipped": [...], "message": ...}."""
        return self._json(self.http.get("/v1/models"))

    def model(self, model_id: str, positions: bool = True) -> dict:
        """The model's description; each layer's ``positions`` decoded to float32 [units, 2]."""
        info = self._json(self.http.get(f"/v1/models/{model_id}", params={"positions": positions}))
        for layer in info["layers"]:
            if layer["positions"] is not None:
                layer["positions"] = decode_positions(layer)
        return info

    def spikes(
        self,
        model_id: str,
        *,
        image: bytes | None = None,
        grating: dict | None = None,
        layers: list[str] | None = None,
        timesteps: int | None = None,
        output: str = "binary",
        top_k: int = 5,
        raster_cells: int = 32,
        lesion: dict | None = None,
    ) -> Spikes | dict | bytes:
        """Spikes for a PNG/JPEG ``image`` (bytes) or a ``grating`` (GratingSpec fields).

        ``output="binary"`` returns :class:`Spikes`; "raster" and "json" the parsed JSON;
        "nwb" the bytes of an NWB file (read it with pynwb).
        ``lesion`` ({"layer", "x_mm", "y_mm", "radius_mm"}) silences a disc of that layer.
        """
        if (image is None) == (grating is None):
            raise ValueError("give either image or grating")
        options: dict[str, Any] = {"output": output, "top_k": top_k, "raster_cells": raster_cells}
        if layers is not None:
            options["layers"] = layers
        if timesteps is not None:
            options["timesteps"] = timesteps
        url = f"/v1/models/{model_id}/spikes" + ("/lesioned" if lesion else "")
        if image is not None:
            files = {"image": ("image", image, _image_type(image))}
            data = {"options": json.dumps(options)}
            response = self.http.post(url, files=files, data=data, params=lesion)
        else:
            response = self.http.post(url, json={**options, "stimulus": grating}, params=lesion)
        if response.is_success and response.headers["content-type"] == MEDIA_TYPE:
            return decode_spikes(response.content)
        if response.is_success and response.headers["content-type"] == NWB_MEDIA_TYPE:
            return response.content
        return self._json(response)

    def maps(self, model_id: str, kind: str, layer: str | None = None) -> dict:
        """Map ``kind``: orientation, pinwheels, category or patches."""
        params = {"layer": layer} if layer else {}
        return self._json(self.http.get(f"/v1/models/{model_id}/maps/{kind}", params=params))

    def lesion(
        self,
        model_id: str,
        layer: str,
        *,
        centre_mm: tuple[float, float] | None = None,
        radius_mm: float | None = None,
        units: list[int] | None = None,
        scorer: str = "classifier",
        seed: int = 0,
    ) -> dict:
        """Per-category accuracy before/after a disc (or unit) lesion and a random control."""
        body = {"layer": layer, "scorer": scorer, "seed": seed}
        if units is not None:
            body["units"] = [int(u) for u in units]
        else:
            body.update(centre_mm=centre_mm, radius_mm=radius_mm)
        return self._json(self.http.post(f"/v1/models/{model_id}/lesions", json=body))

    def probes(self) -> list[dict]:
        """The bundled probe images: [{"id", "source", "label", "description"}]."""
        return self._json(self.http.get("/v1/probes"))["probes"]

    def probe(self, probe_id: str) -> bytes:
        """One bundled probe image (PNG bytes), ready to pass to :meth:`spikes`."""
        response = self.http.get(f"/v1/probes/{probe_id}")
        if not response.is_success:
            self._json(response)
        return response.content

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        if not response.is_success:
            try:
                body = response.json()
            except ValueError:
                body = None
            if not isinstance(body, dict):  # not the service's error shape (e.g. a proxy's)
                raise ServiceError(response.status_code, response.text)
            detail = str(body.get("detail", body))
            raise ServiceError(response.status_code, detail, body.get("code"), body.get("field"))
        return response.json()


def _image_type(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    return "image/jpeg" if data.startswith(b"\xff\xd8") else "application/octet-stream"
