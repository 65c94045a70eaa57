"""A tiny untrained checkpoint (low threshold, so its units fire) to export."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tdsnn_core.checkpoints import Checkpoint, load_checkpoint, save_checkpoint
from tdsnn_core.models import create_model
from tdsnn_core.sheets import build_sheets


@pytest.fixture(scope="session")
def checkpoint_path(tmp_path_factory) -> Path:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = create_model(
        "sresnet_mini",
        v_threshold=0.25,
        widths=[4, 8, 8, 8],
        stem_width=4,
        input_size=16,
        timesteps=2,
        num_classes=4,
    )
    layers = [(t.name, t.area, t.dims, t.downsampling) for t in model.topographic_layers()]
    path = tmp_path_factory.mktemp("models") / "tiny.safetensors"
    save_checkpoint(path, model, build_sheets(layers), {"epoch": 1})
    return path


@pytest.fixture(scope="session")
def ckpt(checkpoint_path) -> Checkpoint:
    return load_checkpoint(checkpoint_path)
