"""Helpers of the service tests: test images and running a model directly."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import torch
from PIL import Image

from tdsnn_core.checkpoints import save_checkpoint
from tdsnn_core.models import create_model
from tdsnn_core.sheets import build_sheets

REPO = Path(__file__).resolve().parents[2]
TINY = {"widths": [4, 8, 8, 8], "stem_width": 4, "input_size": 16, "timesteps": 2, "num_classes": 4}


def write_checkpoint(path: Path, name: str = "sresnet_mini", **options) -> None:
    """An untrained model (low threshold, so units fire) trained "on" gratings."""
    torch.manual_seed(0)
    model = create_model(name, v_threshold=0.25, **options)
    layers = [(t.name, t.area, t.dims, t.downsampling) for t in model.topographic_layers()]
    meta = {"train_config": {"data": {"kind": "gratings"}}, "epoch": 3, "metrics": {"top1": 0.5}}
    save_checkpoint(path, model, build_sheets(layers), meta)


def png(width: int = 45, height: int = 31, seed: int = 0) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def run_direct(ckpt, image: torch.Tensor, timesteps: int | None = None):
    """Spikes {layer: bool [T, C, H, W]} and softmax probabilities of one image [C, H, W]."""
    with torch.inference_mode():
        out = ckpt.model(image[None], timesteps=timesteps, return_spikes=True)
    spikes = {name: s[:, 0].bool().numpy() for name, s in out.spikes.items()}
    return spikes, torch.softmax(out.logits[0].double(), 0).numpy()


def upload_input(data: bytes, size: int) -> torch.Tensor:
    with Image.open(io.BytesIO(data)) as image:
        grey = image.convert("L").resize((size, size), Image.Resampling.BILINEAR)
    return torch.from_numpy(np.asarray(grey, np.float32) / 255.0)[None]


def error(response: httpx.Response, status: int) -> dict:
    """The body of an error answer of ``status``, checked to be the one error shape."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "detail", "field"} and body["detail"], body
    return body


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    models: Path, log: Path, log_level: str = "info", **env: str
) -> tuple[subprocess.Popen, str]:
    """``python -m tdsnn_serve.command serve`` on a free port; returns once /healthz answers
    (200, or 401 with a token). Settings come from ``env`` (``TDSNN_*``)."""
    port = free_port()
    environment = {**os.environ, "TDSNN_THREADS": "1", "TDSNN_LESION_IMAGES": "32", **env}
    command = [sys.executable, "-m", "tdsnn_serve.command", "serve", "--models", str(models)]
    command += ["--port", str(port), "--device", "cpu", "--log-level", log_level]
    with open(log, "w") as fh:
        process = subprocess.Popen(command, cwd=REPO, env=environment, stdout=fh, stderr=fh)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code in (200, 401):
                return process, url
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not start: {log.read_text()}")
