"""GPU paths: CUDA kernels agree with the CPU, AMP training and NCCL under torchrun.

Skipped on machines without a CUDA GPU (CI has none); run them where a GPU is present.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from tdsnn_core.checkpoints import load_checkpoint, read_metadata
from tdsnn_core.config import load_config
from tdsnn_core.models import create_model
from tdsnn_core.training import train

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA GPU (none here)"
)


def test_cuda_forward_agrees_with_cpu() -> None:
    torch.manual_seed(0)
    model = create_model("sresnet18", input_size=64, num_classes=10).eval()
    images = torch.rand(8, 3, 64, 64)
    cpu = model(images, return_spikes=True)
    gpu = model.cuda()(images.cuda(), return_spikes=True)
    for name, spikes in cpu.spikes.items():
        agreement = (spikes == gpu.spikes[name].cpu()).float().mean().item()
        assert agreement > 0.999, name
    torch.testing.assert_close(gpu.logits.cpu(), cpu.logits, atol=0.05, rtol=0.05)


def test_amp_training_on_cuda_and_loading_on_cpu(tiny_config) -> None:
    config = load_config(tiny_config(run={"device": "cuda", "amp": True}))
    metrics = train(config, progress=False)
    assert all(torch.isfinite(torch.tensor(v)) for v in metrics.values())
    ckpt = load_checkpoint(Path(config.run.out_dir) / "last.safetensors", "cpu")
    assert next(ckpt.model.parameters()).device.type == "cpu"


def test_torchrun_nccl(tiny_config, torchrun, tmp_path: Path) -> None:
    config = tiny_config(
        tmp_path / "nccl", optim={"epochs": 1}, run={"device": "cuda", "sync_bn": True}
    )
    nproc = min(torch.cuda.device_count(), 2)
    result = torchrun(config, nproc, dict(os.environ))
    assert result.returncode == 0, result.stderr[-3000:]
    assert read_metadata(tmp_path / "nccl" / "last.safetensors")["world_size"] == nproc
