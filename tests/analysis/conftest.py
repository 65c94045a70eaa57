"""Fixtures for the model-level analysis tests (the models live in analysis_models.py)."""

from __future__ import annotations

import pytest
import torch
from analysis_models import PatchNet, make_checkpoint


@pytest.fixture
def one_thread():
    """Run torch on one thread: much faster than two on a CPU shared with other jobs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def patchnet() -> PatchNet:
    return PatchNet().eval()


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("checkpoints") / "tiny.safetensors"
    make_checkpoint(path)
    return path
