"""Checkpoints: safetensors + JSON metadata, atomic writes, safe loading of bad files."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from tdsnn_core.checkpoints import (
    load_checkpoint,
    load_optimizer_state,
    read_metadata,
    save_checkpoint,
)
from tdsnn_core.models import create_model
from tdsnn_core.sheets import build_sheets, load_sheets
from tdsnn_core.storage import CheckpointError


def make_model_and_sheets():
    torch.manual_seed(0)
    model = create_model("sresnet_mini", widths=[4, 8, 8, 8], stem_width=4, input_size=16)
    layers = [(t.name, t.area, t.dims, t.downsampling) for t in model.topographic_layers()]
    return model, build_sheets(layers)


def test_round_trip_rebuilds_the_same_network(tmp_path: Path) -> None:
    model, sheets = make_model_and_sheets()
    model.train()(torch.rand(8, 1, 16, 16))  # move BN running stats away from their init
    path = tmp_path / "m.safetensors"
    save_checkpoint(path, model.eval(), sheets, {"epoch": 3, "metrics": {"eval_top1": 50.0}})
    ckpt = load_checkpoint(path)
    images = torch.rand(4, 1, 16, 16)
    torch.testing.assert_close(ckpt.model(images), model(images))
    assert ckpt.meta["epoch"] == 3 and ckpt.meta["model"]["name"] == "sresnet_mini"
    assert set(ckpt.meta["versions"]) >= {"torch", "spikingjelly", "tdsnn"}
    assert read_metadata(path)["metrics"] == {"eval_top1": 50.0}
    assert list(load_sheets(path)) == list(sheets)  # sheets load alone from a checkpoint
    assert not list(tmp_path.glob(".*.tmp"))


def test_checkpoint_records_the_cpu_kernel_set(tmp_path: Path, monkeypatch) -> None:
    """The same seed trains another model on AVX2 than on AVX-512 (oneDNN's convolutions round
    differently), so a checkpoint says which kernel set made it, and oneDNN's cap when set."""
    model, sheets = make_model_and_sheets()
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    save_checkpoint(tmp_path / "a.safetensors", model, sheets, {"epoch": 1})
    isa = torch.backends.cpu.get_cpu_capability()
    assert read_metadata(tmp_path / "a.safetensors")["versions"]["cpu_isa"] == isa
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    save_checkpoint(tmp_path / "b.safetensors", model, sheets, {"epoch": 1})
    recorded = read_metadata(tmp_path / "b.safetensors")["versions"]["cpu_isa"]
    assert recorded == f"{isa}, ONEDNN_MAX_CPU_ISA=AVX2"


def test_optimizer_state_round_trip(tmp_path: Path) -> None:
    model, sheets = make_model_and_sheets()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.rand(4, 1, 16, 16)).sum().backward()
    opt.step()
    save_checkpoint(tmp_path / "t.safetensors", model, sheets, {}, opt)
    fresh = torch.optim.AdamW(model.parameters(), lr=1e-3)
    load_optimizer_state(tmp_path / "t.safetensors", fresh)
    for param in model.parameters():
        torch.testing.assert_close(opt.state[param]["exp_avg_sq"], fresh.state[param]["exp_avg_sq"])


def test_bad_files_are_refused_with_a_reason(tmp_path: Path) -> None:
    model, sheets = make_model_and_sheets()
    good = tmp_path / "good.safetensors"
    save_checkpoint(good, model, sheets, {})
    data = good.read_bytes()
    (tmp_path / "truncated.safetensors").write_bytes(data[: len(data) // 2])
    (tmp_path / "empty.safetensors").write_bytes(b"")
    (tmp_path / "pickle.pt").write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    save_file({"w": torch.zeros(2)}, str(tmp_path / "foreign.safetensors"))
    save_file(
        {"w": torch.zeros(2)},
        str(tmp_path / "other_format.safetensors"),
        metadata={"tdsnn": '{"format": "something-else"}'},
    )
    cases = {
        "truncated.safetensors": "not a readable safetensors",
        "empty.safetensors": "not a readable safetensors",
        "pickle.pt": "not a readable safetensors",
        "foreign.safetensors": "not a TDSNN file",
        "other_format.safetensors": "not a TDSNN checkpoint",
        "missing.safetensors": "no such file",
    }
    for name, message in cases.items():
        with pytest.raises(CheckpointError, match=message):
            load_checkpoint(tmp_path / name)


def test_weights_of_another_architecture_are_refused(tmp_path: Path) -> None:
    model, sheets = make_model_and_sheets()
    path = tmp_path / "m.safetensors"
    save_checkpoint(path, model, sheets, {})
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
        metadata = f.metadata()
    tensors["model.fc.weight"] = torch.zeros(3, 3)
    save_file(tensors, str(tmp_path / "bad.safetensors"), metadata=metadata)
    with pytest.raises(CheckpointError, match="fc.weight has shape"):
        load_checkpoint(tmp_path / "bad.safetensors")
