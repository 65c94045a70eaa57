"""A real uvicorn server (subprocess) on a free loopback port, serving test checkpoints."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import torch
from safetensors.torch import save_file
from service_helpers import TINY, start_server, write_checkpoint

from tdsnn_core.checkpoints import load_checkpoint

LIMITS = {
    "TDSNN_MAX_UPLOAD_BYTES": "1000000",
    "TDSNN_MAX_IMAGE_PIXELS": "4000000",
    "TDSNN_QUEUE_SIZE": "64",  # room for test_concurrency's 50 requests at once
}


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("models")
    write_checkpoint(folder / "mini.safetensors")
    write_checkpoint(folder / "tiny.safetensors", **TINY)
    (folder / "corrupt.safetensors").write_bytes(b"\x00\x01 not a checkpoint")
    torch.save({"weights": torch.zeros(2)}, folder / "pickled.pt")
    save_file({"w": torch.zeros(2)}, str(folder / "foreign.safetensors"))
    (folder / "notes.txt").write_text("not a model")
    return folder


@pytest.fixture(scope="session")
def server_log(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("logs") / "server.log"


@pytest.fixture(scope="session")
def server(models_dir, server_log):
    """Base URL of the server of ``models_dir`` (its output goes to ``server_log``)."""
    process, url = start_server(models_dir, server_log, **LIMITS)
    yield url
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="session")
def http(server):
    with httpx.Client(base_url=server, timeout=300) as client:
        yield client


@pytest.fixture(scope="session")
def local(models_dir):
    """The served checkpoints loaded in the test process, to run the models directly."""
    torch.set_num_threads(1)
    return {name: load_checkpoint(models_dir / f"{name}.safetensors") for name in ("mini", "tiny")}
