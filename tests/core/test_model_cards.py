"""Model cards: written from a real (tiny) training run, checked, and tampering caught; and
the bundled checkpoints checked against their cards."""

from pathlib import Path

import numpy as np
import pytest
import yaml

from tdsnn_core.analysis.maps import smoothness_difference
from tdsnn_core.analysis.probes import load_probe_folder
from tdsnn_core.cards import CardError, build_card, check_card, read_card, write_card
from tdsnn_core.checkpoints import load_checkpoint
from tdsnn_core.cli import main
from tdsnn_core.config import load_config
from tdsnn_core.experiments import (
    AnalysisSettings,
    LesionEffect,
    ReadoutScorer,
    area_layer,
    default_layer,
    layer_orientation_map,
    patch_lesion,
    probe_category_maps,
)
from tdsnn_core.recording import record_rates
from tdsnn_core.training import train
from tdsnn_core.training.sheets_setup import sheets_differ

MODELS = Path(__file__).resolve().parents[2] / "models"
PROBES = MODELS.parent / "data" / "categories" / "val"  # built by make test (tdsnn data build)
BUNDLED = (
    "categories_stc",
    "categories_rate",
    "categories_none",
    "categories_spikformer_stc",
    "categories_spikformer_none",
    "categories_cornet_rt_stc",
    "categories_cornet_rt_none",
)
MEASURED: dict[str, dict] = {}  # name -> the card check's re-measurement, shared by the tests


def measured(name: str) -> dict:
    """Re-measure a bundled file once (top-1 on its subset, V1 map, rates) for every test."""
    if name not in MEASURED:
        result = check_card(MODELS / f"{name}.safetensors")
        MEASURED[name] = {"problems": result.problems, **result.measured}
    return MEASURED[name]


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
    subset = card["metrics"]["subset"]
    low, high = subset["top1_interval"]
    assert low <= subset["top1"] <= high and high - low > 1  # 512 images: a few points wide
    assert subset["sources"] == 512  # generated gratings: every image its own source

    subset["top1"] += 5.0
    subset["top1_interval"][1] += 1.0
    subset["smoothness_interval"] = [0.0, 1.0]
    subset["mean_rate"]["layer2.0"] *= 1.5
    card["sha256"] = "0" * 64
    problems = check_card(checkpoint, write_card(card, tmp_path / "bad.md")).problems
    assert any(p.startswith("top1: measured") for p in problems)
    assert any(p.startswith("top1_interval: measured") for p in problems)
    assert any(p.startswith("smoothness_interval: measured") for p in problems)
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
    assert measured(name)["problems"] == []


def test_default_model_has_a_v1_map_that_the_baseline_on_its_sheet_lacks():
    """Issue #12's V1 goals that the default model meets, re-measured on the shipped files:
    V1 >= 16,000 units on a >= 16 x 16 grid, smoothness above the 95th percentile of its
    shuffle null and far above the baseline's on the same sheet, and pinwheels: a density per
    Lambda^2 in [pi / 1.5, 1.5 pi] on the map of all tuned units, where no shuffled map is
    resolvable, while the baseline's map has too little coherence to show any. Its misses
    are in models/README.md."""
    stc, none = measured("categories_stc"), measured("categories_none")
    assert stc["v1_units"] >= 16_000 and min(stc["v1_grid"]) >= 16
    assert stc["smoothness_percentile"] > 95
    assert stc["v1_smoothness"] > none["v1_smoothness"] + 0.3
    assert np.pi / 1.5 <= stc["pinwheel_density"] <= 1.5 * np.pi
    low, high = stc["pinwheel_density_interval"]
    assert low < stc["pinwheel_density"] < high
    low, high = stc["column_spacing_interval"]  # Lambda's own interval, a few % wide
    assert low < stc["column_spacing_mm"] < high and high - low < 0.1 * stc["column_spacing_mm"]
    assert stc["pinwheel_null_resolvable"] == 0.0
    assert none["pinwheel_density"] is None and "neighbour coherence" in none["pinwheel_reason"]
    sheets = [load_checkpoint(MODELS / f"{n}.safetensors").sheets for n in ("categories_stc",
              "categories_rate", "categories_none")]  # fmt: skip
    assert sheets_differ(sheets[0], sheets[1]) == [] and sheets_differ(sheets[0], sheets[2]) == []


def v1_map(name: str):
    """The V1 orientation map of a bundled file, measured as the card measures it."""
    ckpt = load_checkpoint(MODELS / f"{name}.safetensors")
    return layer_orientation_map(ckpt.model, ckpt.sheets[area_layer(ckpt.sheets, "V1")])


@pytest.mark.parametrize(
    ("architecture", "loss_adds_a_map"),
    [("categories", True), ("categories_cornet_rt", True), ("categories_spikformer", False)],
)
def test_stc_minus_its_baseline_on_one_sheet(architecture: str, loss_adds_a_map: bool):
    """Each architecture's STC model minus its baseline (same recipe, seed and swapped sheet),
    with the 95 % interval from resampling tiles of that sheet (the same tiles for both).
    sresnet_mini (0.41 [0.36, 0.45]) and cornet_rt_mini: the map is the loss's. spikformer_mini:
    no difference (-0.00 [-0.17, +0.18]): its swapped sheet put a V1 unit's neighbours in its own
    channel 11 times as often as chance, and a channel's tokens share their weights, so any
    spikformer_mini has that map on this sheet (models/README.md)."""
    stc, none = (f"{architecture}_{loss}" for loss in ("stc", "none"))
    difference = smoothness_difference(v1_map(stc), v1_map(none))
    assert difference is not None  # one sheet
    if loss_adds_a_map:
        assert difference.low > 0  # the interval excludes 0
    else:
        assert difference.low < 0 < difference.high


def test_all_three_architectures_have_a_v1_map_above_its_null():
    """Issue #12: a V1 orientation map in each of the paper's architectures, smoother than the
    95th percentile of its preference-shuffle null. spikformer_mini and cornet_rt_mini (3,136
    V1 units) get theirs on sheets swapped on an auxiliary model of their own architecture:
    on the unswapped retinotopic sheet (their first release) both scored at the 13th-62nd
    percentile, since a channel is tuned alike at every location. (Baselines on the same
    sheets: test_stc_minus_its_baseline_on_one_sheet.)"""
    for name in ("categories_stc", "categories_spikformer_stc", "categories_cornet_rt_stc"):
        assert measured(name)["smoothness_percentile"] > 95, name


def test_default_model_orientation_spread_and_accuracy_stay_near_the_goals():
    """The two goals the default model narrowly misses, held where they are so that a
    retrained file that drifts further fails: 6 of 8 orientation bins hold >= 4.5 % of the
    tuned units (goal: all 8 >= 5 %; three of the six sit at 5.0-5.3 %) and top-1 is within
    2.5 points of the baseline (goal: 1)."""
    stc, none = measured("categories_stc"), measured("categories_none")
    assert sum(f >= 0.045 for f in stc["orientation_fractions"]) >= 6
    assert stc["top1"] > none["top1"] - 2.5


def test_default_model_face_patch_lesion_costs_faces_more_than_random_and_baseline():
    """Issue #12's lesion goal, on the shipped files: a disc lesion on the default model's face
    patch (15 % of the IT sheet's edge) costs faces at least twice what random lesions of as
    many units cost (15.5 vs 2.1 points), and more than the same lesion costs the baseline's
    faces, intervals apart. "Specific" in metrics.md's conservative sense (the deficit's 95 %
    interval clears the random controls') it is not: the 400 validation faces are variants of
    20 LFW crops (sources.json), so the cross-fitted readouts score 20 independent faces, and the
    control's interval, resampled over those sources, reaches 16 points (models/README.md)."""
    settings = AnalysisSettings(probe_root=str(PROBES))
    effects = {
        name: face_patch_lesion(name, settings) for name in ("categories_stc", "categories_none")
    }
    (face, faces), (none, _) = effects["categories_stc"], effects["categories_none"]
    assert face.deficit[faces] >= 2 * max(face.control_deficit[faces], 1.0)
    assert face.deficit_interval[faces, 0] > none.deficit_interval[faces, 1]


def face_patch_lesion(name: str, settings: AnalysisSettings) -> tuple[LesionEffect, int]:
    """The face-patch lesion of ``tdsnn analyze --parts categories,lesions`` (the same probes,
    patches, readouts, disc, seed and controls; not the nulls of the maps, the other
    categories' lesions or the radius sweep) and the faces' index among the categories."""
    ckpt = load_checkpoint(MODELS / f"{name}.safetensors")
    model, spec = ckpt.model.eval(), ckpt.model.config
    it = default_layer(ckpt, settings.it_layer, "IT", last=True)
    probes = load_probe_folder(settings.probe_root, spec["input_size"], spec["in_channels"])
    rates = record_rates(model, probes.images, [it], settings.batch_size)[it]
    sheet = ckpt.sheets[it]
    maps = probe_category_maps(sheet.positions, rates, probes, n_samples=1, n_permutations=1)
    scorer = ReadoutScorer.fit(model, probes, it, settings.batch_size, intact_rates=rates)
    effect = patch_lesion(scorer, sheet, maps, "faces", settings)
    return effect, list(maps.categories).index("faces")
