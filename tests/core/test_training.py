"""Training end to end on generated gratings: outputs, resume after kill -9, NaN, DDP, CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tdsnn_core.checkpoints import load_checkpoint, read_metadata
from tdsnn_core.cli import main
from tdsnn_core.config import load_config
from tdsnn_core.sheets import save_sheets
from tdsnn_core.training import TrainingError, train
from tdsnn_core.training.sheets_setup import sheets_differ
from tdsnn_core.training.trainer import topography_weight

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def tdsnn(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tdsnn_core.cli", *args],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=300,
    )


def model_tensors(path: Path) -> dict[str, torch.Tensor]:
    return {k: v for k, v in load_file(str(path)).items() if k.startswith("model.")}


def test_train_writes_checkpoints_config_and_metrics(tiny_config, tmp_path: Path) -> None:
    config = load_config(tiny_config())
    metrics = train(config, progress=False)
    out = Path(config.run.out_dir)
    assert {"last.safetensors", "best.safetensors", "config.yaml", "metrics.jsonl"} <= {
        p.name for p in out.iterdir()
    }
    assert load_config(out / "config.yaml") == config
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [m["epoch"] for m in lines] == [1, 2]
    assert metrics["train_rate_loss"] > 0 and metrics["train_timing_loss"] > 0
    ckpt = load_checkpoint(out / "best.safetensors")
    assert ckpt.meta["metrics"]["eval_top1"] == max(m["eval_top1"] for m in lines)
    assert set(ckpt.sheets) == {t.name for t in ckpt.model.topographic_layers()}
    assert not list(out.glob(".*.tmp"))


def test_eval_command_prints_top1_and_top5(tiny_config, capsys) -> None:
    config = load_config(tiny_config(optim={"epochs": 1}))
    train(config, progress=False)
    assert main(["eval", f"{config.run.out_dir}/last.safetensors", "--subset", "16"]) == 0
    out = capsys.readouterr().out
    assert "top-1" in out and "top-5" in out and "(16 images)" in out


def test_resume_after_kill_9_ends_with_the_same_weights(tiny_config, tmp_path: Path) -> None:
    epochs = {"epochs": 4}
    full = tiny_config(tmp_path / "full", optim=epochs)
    assert tdsnn("train", "--config", str(full), "--no-progress").returncode == 0

    broken = tiny_config(tmp_path / "broken", optim=epochs)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tdsnn_core.cli", "train", "--config", str(broken), "--no-progress"],
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    log = tmp_path / "broken" / "metrics.jsonl"
    deadline = time.time() + 240
    while time.time() < deadline and not (log.exists() and log.read_text().count("\n") >= 2):
        time.sleep(0.05)
    assert proc.poll() is None, "training finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert read_metadata(tmp_path / "broken" / "last.safetensors")["epoch"] < 4
    resumed = tdsnn("train", "--config", str(broken), "--resume", "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    a = model_tensors(tmp_path / "full" / "last.safetensors")
    b = model_tensors(tmp_path / "broken" / "last.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)


def test_resuming_on_other_cpu_kernels_says_it_will_not_match(
    tiny_config, monkeypatch, capsys
) -> None:
    """A checkpoint records its CPU kernel set; resuming it on another set (here: one recorded
    under oneDNN's AVX2 cap) notes that the run will not match an uninterrupted one, and
    resuming on the same set says nothing."""
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    train(load_config(tiny_config(optim={"epochs": 1})), progress=False)
    train(load_config(tiny_config(optim={"epochs": 2})), resume=True, progress=False)
    assert "will not match" not in capsys.readouterr().err
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")  # recorded at save, not applied in-process
    train(load_config(tiny_config(optim={"epochs": 3})), resume=True, progress=False)
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    train(load_config(tiny_config(optim={"epochs": 4})), resume=True, progress=False)
    err = capsys.readouterr().err
    assert "ONEDNN_MAX_CPU_ISA=AVX2, this run uses" in err and "will not match" in err


def test_topography_weight_ramps_linearly_to_one() -> None:
    assert [topography_weight(step, 4) for step in range(6)] == [0.25, 0.5, 0.75, 1, 1, 1]
    assert topography_weight(0, 0) == topography_weight(7, 0) == 1.0  # no ramp


def test_ramp_scales_the_topographic_term_of_the_loss(tiny_config) -> None:
    """Over a ramp far longer than the run the topographic loss is computed (and logged) but
    weighs ~0 in the optimised loss."""
    config = load_config(tiny_config(optim={"epochs": 1}), ["topography.ramp_epochs=1e6"])
    metrics = train(config, progress=False)
    assert metrics["train_rate_loss"] > 0 and metrics["train_timing_loss"] > 0
    assert abs(metrics["train_loss"] - metrics["train_task_loss"]) < 1e-4


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tiny_config) -> None:
    path = tiny_config(optim={"epochs": 1})
    config = load_config(path)
    train(config, progress=False)
    last = Path(config.run.out_dir) / "last.safetensors"
    before = last.read_bytes()
    exploding = load_config(path, ["optim.epochs=3", "optim.lr=1e38", "optim.grad_clip=null"])
    with pytest.raises(TrainingError, match="non-finite loss.*last good checkpoint"):
        train(exploding, resume=True, progress=False)
    assert last.read_bytes() == before
    load_checkpoint(last)


def test_cli_reports_user_errors_without_a_traceback(tiny_config, tmp_path: Path, capsys) -> None:
    bad_key = tdsnn("train", "--config", str(tiny_config()), "--set", "optim.lrr=1")
    assert bad_key.returncode == 2 and "unknown config key(s) ['lrr']" in bad_key.stderr
    assert "Traceback" not in bad_key.stderr
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"garbage")
    in_process = {  # the same entry point: an uncaught exception would fail the test
        "apt-get install dataset-fashion-mnist": [
            "train",
            "--set",
            f"data.root={tmp_path}",
            "--set",
            "optim.epochs=1",
        ],
        "no checkpoint to resume from": [
            "train",
            "--config",
            str(tiny_config(tmp_path / "empty")),
            "--resume",
        ],
        "not a readable safetensors": ["eval", str(corrupt)],
    }
    for message, argv in in_process.items():
        assert main(argv) == 2, argv
        assert message in capsys.readouterr().err, argv


def test_torchrun_two_gloo_processes(tiny_config, torchrun, tmp_path: Path) -> None:
    result = torchrun(tiny_config(tmp_path / "ddp", optim={"epochs": 1}), 2, ENV)
    assert result.returncode == 0, result.stderr[-3000:]
    meta = read_metadata(tmp_path / "ddp" / "last.safetensors")
    assert meta["world_size"] == 2 and meta["train_state"]["global_step"] == 3  # 96 / (2 x 16)
    lines = (tmp_path / "ddp" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 1  # only rank 0 writes
    load_checkpoint(tmp_path / "ddp" / "last.safetensors")


def test_sync_batchnorm_conversion_keeps_the_network() -> None:
    from tdsnn_core.models import create_model
    from tdsnn_core.training.distributed import MultiStepSyncBatchNorm, convert_sync_batchnorm

    torch.manual_seed(0)
    model = create_model("sresnet_mini", widths=[4, 8, 8, 8], stem_width=4, input_size=16)
    model.train()(torch.rand(8, 1, 16, 16))  # non-trivial running statistics
    images = torch.rand(4, 1, 16, 16)
    expected = model.eval()(images)
    synced = convert_sync_batchnorm(model)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in synced.modules())
    assert any(isinstance(m, MultiStepSyncBatchNorm) for m in synced.modules())
    torch.testing.assert_close(synced.eval()(images), expected)


def test_baseline_trains_the_same_on_any_sheet_and_can_be_assigned_one(
    tiny_config, tmp_path: Path
) -> None:
    """A non-topographic model never reads its positions: trained on a positions file it has
    the same weights as without, so `tdsnn positions assign` puts a trained baseline on the
    topographic models' sheet exactly as if it had been trained there."""
    plain = load_config(tiny_config(tmp_path / "plain", topography={"kind": "none"}))
    train(plain, progress=False)
    swapped = tmp_path / "positions.safetensors"
    ckpt = load_checkpoint(tmp_path / "plain" / "best.safetensors")
    save_sheets(
        swapped,
        {name: s.with_positions(s.positions[::-1].copy()) for name, s in ckpt.sheets.items()},
    )
    on_file = tiny_config(tmp_path / "file", topography={"kind": "none", "positions": str(swapped)})
    train(load_config(on_file), progress=False)
    trained = load_checkpoint(tmp_path / "file" / "best.safetensors")
    assigned_path = tmp_path / "assigned.safetensors"
    assert main(["positions", "assign", str(tmp_path / "plain" / "best.safetensors"),
                 "--positions", str(swapped), "--out", str(assigned_path)]) == 0  # fmt: skip
    assigned = load_checkpoint(assigned_path)
    for key, value in trained.model.state_dict().items():
        assert torch.equal(value, ckpt.model.state_dict()[key])
        assert torch.equal(value, assigned.model.state_dict()[key])
    assert sheets_differ(assigned.sheets, trained.sheets) == []
    assert sheets_differ(assigned.sheets, ckpt.sheets) == list(ckpt.sheets)
    assert assigned.meta["train_config"]["topography"]["positions"] == str(swapped)


def test_positions_assign_refuses_a_topographic_model(tiny_config, tmp_path: Path) -> None:
    config = load_config(tiny_config(optim={"epochs": 1}))
    train(config, progress=False)
    best = Path(config.run.out_dir) / "best.safetensors"
    result = tdsnn("positions", "assign", str(best), "--positions", str(best), "--out",
                   str(tmp_path / "x.safetensors"))  # fmt: skip
    assert result.returncode == 2 and "depends on its positions" in result.stderr


def test_training_logs_each_layers_effective_clusters(tiny_config, capsys) -> None:
    config = load_config(tiny_config(optim={"epochs": 1}))
    train(config, progress=True)
    err = capsys.readouterr().err
    for layer in config.topography.layers:
        line = next(x for x in err.splitlines() if x.startswith(f"clusters {layer}:"))
        width = float(line.split("width ")[1].split(" mm")[0])
        extent = float(line.split("median extent ")[1].split(" mm")[0])
        assert 0 < extent <= width


def test_a_loss_part_outside_its_range_is_rejected() -> None:
    """The bf16 one-pass variance gave L_S = -254,974: finite, so only a range check sees it."""
    from tdsnn_core.config import TopographyConfig
    from tdsnn_core.losses.objective import TopographicObjective
    from tdsnn_core.losses.stc import TopoLossParts
    from tdsnn_core.sheets import build_sheets

    sheets = build_sheets([("a", "V1", (4, 4, 4), 1.0), ("b", "IT", (8, 2, 2), 4.0)])
    objective = TopographicObjective(TopographyConfig(), sheets, torch.device("cpu"))

    def parts(rate: float, timing: float) -> TopoLossParts:
        return TopoLossParts(torch.tensor(rate + timing), torch.tensor(rate), torch.tensor(timing))

    assert objective.out_of_range(parts(0.4, 1.9)) is None  # two layers: sums up to 2
    assert "L_S = -254974" in objective.out_of_range(parts(0.4, -254974.0))
    assert "L_L = 2.5" in objective.out_of_range(parts(2.5, 0.3))
