"""Model cards: written from a real (tiny) training run, checked, and tampering caught; and
the bundled checkpoints checked against their cards."""

from pathlib import Path

import pytest
import yaml

from tdsnn_core.cards import CardError, build_card, check_card, read_card, write_card
from tdsnn_core.checkpoints import load_checkpoint
from tdsnn_core.cli import main
from tdsnn_core.config import load_config
from tdsnn_core.experiments import area_layer, layer_orientation_map
from tdsnn_core.training import train
from tdsnn_core.training.sheets_setup import sheets_differ

MODELS = Path(__file__).resolve().parents[2] / "models"
BUNDLED = ("fmnist_none", "fmnist_stc", "fmnist_rate", "fmnist_topoloss")


@pytest.fixture
def tiny_run(tiny_config, tmp_path):
    """One epoch of the tiny gratings config; returns (checkpoint, config path)."""
    config = tiny_config(tmp_path / "run", optim={"epochs": 1})
    train(load_config(config), progress=False)
    return tmp_path / "run" / "best.safetensors", config


def test_card_round_trip_and_tampering_is_caught(tiny_run, tmp_path):
    checkpoint, config = tiny_run
    card = build_card(checkpoint, config, notes="tiny test model")
    assert card["metrics"]["subset"]["images"] == 512  # the whole generated gratings test set
    assert card["training"]["reproduce"] == f"tdsnn train --config {config}"
    path = write_card(card, tmp_path / "card.md")
    assert read_card(path) == card
    assert "tiny test model" in path.read_text()
    assert check_card(checkpoint, path).problems == []

    card["metrics"]["subset"]["top1"] += 5.0
    card["metrics"]["subset"]["mean_rate"]["layer2.0"] *= 1.5
    card["sha256"] = "0" * 64
    problems = check_card(checkpoint, write_card(card, tmp_path / "bad.md")).problems
    assert any(p.startswith("top1: measured") for p in problems)
    assert any(p.startswith("mean_rate layer2.0") for p in problems)
    assert any(p.startswith("sha256") for p in problems)


def test_config_drift_is_reported(tiny_run, tmp_path):
    checkpoint, config = tiny_run
    card = build_card(checkpoint, config)
    changed = yaml.safe_load(config.read_text())
    changed["topography"]["alpha"] = 0.25
    changed["run"]["threads"] = 2  # run options do not matter
    other = tmp_path / "changed.yaml"
    other.write_text(yaml.safe_dump(changed))
    card["training"]["config"] = str(other)
    problems = check_card(checkpoint, write_card(card, tmp_path / "card.md")).problems
    assert problems == ["config topography.alpha: file says 0.25, checkpoint was trained with 0.5"]


def test_card_command_and_bad_cards(tiny_run, tmp_path, capsys):
    checkpoint, config = tiny_run
    out = tmp_path / "cards" / "tiny.md"
    assert main(["card", "write", str(checkpoint), "--config", str(config), "--out", str(out)]) == 0
    assert main(["card", "check", str(checkpoint), "--card", str(out)]) == 0
    assert "matches its card" in capsys.readouterr().out
    assert main(["card", "check", str(checkpoint), "--card", str(tmp_path / "none.md")]) == 2
    assert "no model card" in capsys.readouterr().err
    (tmp_path / "plain.md").write_text("# no front matter\n")
    with pytest.raises(CardError, match="front matter"):
        read_card(tmp_path / "plain.md")


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_checkpoint_matches_its_card(name):
    result = check_card(MODELS / f"{name}.safetensors")
    assert result.problems == []


def test_bundled_stc_model_is_smoother_than_the_baseline_on_the_same_sheet():
    """The comparison means something only on one sheet: the baseline once sat on unswapped
    positions (smoothness 0.00 there, 0.13 on the shared sheet)."""
    maps = {}
    for name in ("fmnist_stc", "fmnist_none"):
        ckpt = load_checkpoint(MODELS / f"{name}.safetensors")
        sheet = ckpt.sheets[area_layer(ckpt.sheets, "V1")]
        maps[name] = (ckpt.sheets, layer_orientation_map(ckpt.model, sheet))
    assert sheets_differ(maps["fmnist_stc"][0], maps["fmnist_none"][0]) == []
    stc, none = maps["fmnist_stc"][1], maps["fmnist_none"][1]
    assert stc.smoothness_null.score.percentile > 95
    assert stc.smoothness.score > none.smoothness.score + 0.2
