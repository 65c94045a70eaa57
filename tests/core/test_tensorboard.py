"""``run.tensorboard``: event files whose scalars, read back by TensorBoard, match the run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tdsnn_core.checkpoints import load_checkpoint
from tdsnn_core.cli import main
from tdsnn_core.data import GratingsDataset
from tdsnn_core.experiments.layer_maps import area_layer, layer_orientation_map
from tdsnn_core.experiments.settings import AnalysisSettings
from tdsnn_core.training.tensorboard import MAP_SAMPLES, TrainingBoard

BUNDLED = Path(__file__).resolve().parents[2] / "models" / "categories_stc.safetensors"
TIMING = {"images_per_s"}  # wall-clock values differ between two runs


def read_events(log_dir: Path) -> EventAccumulator:
    events = EventAccumulator(str(log_dir), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    return events


def scalars(events: EventAccumulator, tag: str) -> dict[int, float]:
    return {e.step: e.value for e in events.Scalars(tag)}


def metrics_lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_tiny_run_writes_scalars_matching_metrics_jsonl(tiny_config, tmp_path: Path) -> None:
    logged, plain = tmp_path / "logged", tmp_path / "plain"
    args = ["train", "--no-progress", "--config"]
    assert main([*args, str(tiny_config(logged)), "--set", "run.tensorboard=true"]) == 0
    assert main([*args, str(tiny_config(plain))]) == 0
    assert not (plain / "tensorboard").exists()  # off by default

    lines = metrics_lines(logged)
    untouched = [{k: v for k, v in m.items() if k not in TIMING} for m in metrics_lines(plain)]
    assert [{k: v for k, v in m.items() if k not in TIMING} for m in lines] == untouched

    events = read_events(logged / "tensorboard")
    tags = set(events.Tags()["scalars"])
    for key in lines[0]:
        got = scalars(events, f"epoch/{key}")
        assert sorted(got) == [m["epoch"] for m in lines]
        for m in lines:
            assert got[m["epoch"]] == pytest.approx(m[key], rel=1e-6, abs=1e-6), key

    steps_per_epoch = 96 // 16
    task = scalars(events, "step/task_loss")
    assert sorted(task) == list(range(2 * steps_per_epoch))
    for m in lines:  # equal batches: the epoch's loss is the mean of its steps' losses
        first = (m["epoch"] - 1) * steps_per_epoch
        for tag, key in (("task_loss", "train_task_loss"), ("L_L", "train_rate_loss")):
            values = [scalars(events, f"step/{tag}")[s] for s in range(first, first + 6)]
            assert np.mean(values) == pytest.approx(m[key], rel=1e-5), tag
    assert scalars(events, "step/lr")[2 * steps_per_epoch - 1] == pytest.approx(lines[-1]["lr"])
    shares = list(scalars(events, "step/topographic_share").values())
    assert all(0 < s < 1 for s in shares)
    assert all(v > 0 for v in scalars(events, "step/images_per_s").values())
    assert {"step/L_S", "step/loss"} <= tags

    sheets = load_checkpoint(logged / "last.safetensors").sheets
    for layer in sheets:
        rates = scalars(events, f"firing_rate/{layer}")
        assert sorted(rates) == [1, 2] and all(0 <= r <= 1 for r in rates.values())
    assert any(scalars(events, f"firing_rate/{layer}")[2] > 0 for layer in sheets)


def test_epoch_logs_the_v1_orientation_map_and_its_smoothness(tmp_path: Path) -> None:
    ckpt = load_checkpoint(BUNDLED)
    board = TrainingBoard(tmp_path, enabled=True, device=torch.device("cpu"))
    spec = ckpt.model.config
    test_set = GratingsDataset(spec["input_size"], spec["in_channels"], spec["num_classes"], 16)
    board.log_epoch(3, {"eval_top1": 50.0}, ckpt.model, ckpt.sheets, test_set)
    board.close()

    events = read_events(tmp_path)
    v1 = area_layer(ckpt.sheets, "V1")
    settings = AnalysisSettings(smoothness_samples=MAP_SAMPLES)
    expected = layer_orientation_map(ckpt.model, ckpt.sheets[v1], settings).smoothness.score
    assert scalars(events, "v1/smoothness") == {3: pytest.approx(expected, rel=1e-6)}
    (image,) = events.Images("v1/orientation_map")
    assert image.step == 3 and image.width > 100 and image.height > 100
    assert scalars(events, "epoch/eval_top1") == {3: 50.0}
    assert set(events.Tags()["scalars"]) >= {f"firing_rate/{layer}" for layer in ckpt.sheets}


def test_disabled_board_writes_nothing(tmp_path: Path) -> None:
    board = TrainingBoard(tmp_path / "tb", enabled=False, device=torch.device("cpu"))
    with board.timed_topography():
        pass
    board.log_step(0, 16, 1e-3, loss=torch.tensor(1.0))
    board.close()
    assert not (tmp_path / "tb").exists()


def test_only_rank_0_writes_under_torchrun(tiny_config, torchrun, tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    config = tiny_config(out, optim={"epochs": 1}, run={"tensorboard": True})
    result = torchrun(config, 2, {**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(list((out / "tensorboard").glob("events.out.tfevents.*"))) == 1
    events = read_events(out / "tensorboard")
    assert sorted(scalars(events, "step/task_loss")) == [0, 1, 2]  # 96 / (2 processes x 16)
    (line,) = metrics_lines(out)
    assert scalars(events, "epoch/eval_top1") == {1: pytest.approx(line["eval_top1"])}
