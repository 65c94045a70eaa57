"""``tdsnn eval --compare``: every model's top-1 and its paired difference from the first, on
the same images, against the plain ``tdsnn eval`` of each file (a separate code path: the
DataLoader evaluation used in training); a model on other data is refused by name."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from tdsnn_core.checkpoints import save_checkpoint
from tdsnn_core.cli import main
from tdsnn_core.experiments.accuracy import compare_top1
from tdsnn_core.models import create_model
from tdsnn_core.sheets import build_sheets

MODELS = Path(__file__).resolve().parents[2] / "models"
STC, NONE = MODELS / "categories_stc.safetensors", MODELS / "categories_none.safetensors"
NUMBER = r"([+-]?\d+\.\d+)"


def plain_top1(path: Path, capsys, subset: int) -> float:
    assert main(["eval", str(path), "--subset", str(subset)]) == 0
    return float(re.search(r"top-1 (\d+\.\d+) %", capsys.readouterr().out).group(1))


def test_compared_top1_matches_each_plain_eval_and_the_difference_is_theirs(capsys, one_thread):
    subset = 96
    stc, none = plain_top1(STC, capsys, subset), plain_top1(NONE, capsys, subset)
    assert main(["eval", str(STC), "--compare", str(NONE), "--subset", str(subset)]) == 0
    out = capsys.readouterr().out
    assert f"({subset} images from " in out  # data/categories/val names its sources
    first, second = out.strip().splitlines()[1:]
    top1 = [float(re.search(rf"top-1 {NUMBER} \[", line).group(1)) for line in (first, second)]
    assert top1 == pytest.approx([stc, none], abs=0.006)
    diff, low, high = map(
        float, re.search(rf"minus this: {NUMBER} \[{NUMBER}, {NUMBER}\] points", second).groups()
    )
    assert diff == pytest.approx(stc - none, abs=0.011)
    assert low <= diff <= high


def test_paired_difference_is_narrower_than_the_two_accuracies_when_errors_are_shared():
    rng = np.random.default_rng(0)
    hard = rng.random(2000) < 0.2  # both models miss the same hard images
    a, b = ~hard, ~hard & (rng.random(2000) > 0.02)
    comparison = compare_top1({"a": a, "b": b})
    diff = comparison.difference[1]
    assert diff.estimate == pytest.approx(100 * (a.mean() - b.mean()))
    assert diff.low > 0  # b's extra 2 % of misses are a real difference ...
    each = comparison.top1[0]
    assert diff.high - diff.low < (each.high - each.low) / 2  # ... resolved by the pairing


def test_variants_of_one_source_widen_the_interval_as_one_image():
    """2,000 images made from 100 sources, 20 variants each, right or wrong together: resampled
    by source the interval is sqrt(20) times wider than counting 2,000 independent images."""
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(100), 20)
    a = np.repeat(rng.random(100) < 0.7, 20)
    b = np.repeat(rng.random(100) < 0.7, 20)
    naive = compare_top1({"a": a, "b": b})
    grouped = compare_top1({"a": a, "b": b}, groups=groups)
    assert (grouped.images, grouped.sources, naive.sources) == (2000, 100, 2000)
    for wide, narrow in [
        (grouped.top1[0], naive.top1[0]),
        (grouped.difference[1], naive.difference[1]),
    ]:
        assert wide.estimate == narrow.estimate
        assert (wide.high - wide.low) / (narrow.high - narrow.low) == pytest.approx(
            np.sqrt(20), rel=0.15
        )


def test_a_model_on_other_data_is_refused_by_name(tmp_path, capsys):
    torch.manual_seed(0)
    model = create_model("sresnet_mini", input_size=64, num_classes=5)
    layers = [(t.name, t.area, t.dims, t.downsampling) for t in model.topographic_layers()]
    other = tmp_path / "gratings_model.safetensors"
    save_checkpoint(
        other, model, build_sheets(layers), {"train_config": {"data": {"kind": "gratings"}}}
    )
    assert main(["eval", str(STC), "--compare", str(other), "--subset", "32"]) == 2
    err = capsys.readouterr().err
    assert "gratings_model.safetensors" in err and "not" in err and "same ones" in err
