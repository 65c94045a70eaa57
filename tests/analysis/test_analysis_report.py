"""The report end to end on a tiny untrained sresnet_mini, through the analyze command."""

import argparse
import json
import re

import numpy as np
import pytest
from analysis_models import make_checkpoint

from tdsnn_core.checkpoints import load_checkpoint
from tdsnn_core.cli import main
from tdsnn_core.experiments import PARTS, AnalysisSettings, analyze_checkpoint
from tdsnn_core.reports import write_report
from tdsnn_core.reports.command import add_parser

FIGURES = (
    "orientation_map.png",
    "smoothness.png",
    "category_maps.png",
    "lesions.png",
    "temporal.png",
    "synchrony.png",
    "robustness.png",
    "dimensionality.png",
)
SMALL = [
    "--top1-subset",
    "24",
    "--subset",
    "12",
    "--probes-per-category",
    "4",
    "--orientations",
    "4",
    "--timesteps",
    "1",
    "4",
    "--robustness-subset",
    "6",
    "--fisher-images",
    "1",
    "--gaussian-noise",
    "0",
    "0.2",
    "--fgsm",
    "0.05",
    "--pgd",
    "0.05",
    "--pixel-masking",
    "0.5",
    "--no-progress",
]


def analyze(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tdsnn")
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["analyze", *argv])
    return args.handler(args)


def test_analyze_compares_two_checkpoints(tmp_path, tiny_checkpoint, one_thread, capsys):
    other = tmp_path / "other.safetensors"
    make_checkpoint(other, seed=1)
    out = tmp_path / "report"
    assert analyze([str(tiny_checkpoint), "--compare", str(other), "--out", str(out), *SMALL]) == 0
    assert f"wrote {out / 'index.html'}" in capsys.readouterr().out

    document = json.loads((out / "metrics.json").read_text())
    assert list(document["models"]) == ["tiny", "other"]
    for metrics in document["models"].values():
        assert metrics["errors"] == {}
        assert set(metrics["timings_s"]) == set(PARTS)
        assert 0 <= metrics["orientation"]["smoothness"] <= 1
        assert set(metrics["categories"]["per_category"]) == {
            "faces",
            "bodies",
            "characters",
            "places",
            "objects",
        }
        assert len(metrics["lesions"]["centred_on"]) == 5
        assert metrics["temporal"]["timesteps"] == [1, 4]
        assert len(metrics["fisher_information"]) == 4
        for value, (low, high) in zip(
            metrics["fisher_information"], metrics["fisher_information_interval"], strict=True
        ):
            assert low <= value <= high
        assert metrics["robustness"]["gaussian_noise"]["strength"] == [0.0, 0.2]
        assert set(metrics["effective_dimensionality"]) >= set(metrics["areas"].values())
        for d in metrics["effective_dimensionality"].values():  # 5 x 4 probes, each a source
            assert (d["stimuli"], d["sources"]) == (20, 20)
            assert d["interval"][0] <= d["estimate"] <= d["interval"][1]
    differences = {d["metric"]: d for d in document["differences"]}
    smooth = differences["orientation.smoothness"]
    assert smooth["difference"] == pytest.approx(smooth["second"] - smooth["first"])

    paired = document["paired_differences"]["other"]
    accuracy = next(r for r in paired if r["measure"] == "accuracy at T = 4 (points)")
    assert accuracy["low"] <= accuracy["difference"] <= accuracy["high"]
    models = document["models"]
    for t in range(4):  # on the same images: paired, as every row here
        (fisher,) = [r for r in paired if r["measure"] == f"Fisher information I_{t + 1}"]
        first, second = (models[m]["fisher_information"][t] for m in ("tiny", "other"))
        assert fisher["difference"] == pytest.approx(second - first)
        assert fisher["low"] <= fisher["difference"] <= fisher["high"]
    for name in ("faces", "places"):  # each category's smoothness, paired
        (row,) = [r for r in paired if r["measure"] == f"IT {name} smoothness"]
        assert row["method"] == "jackknife, probe sources"
        first, second = (models[m]["categories"]["per_category"][name] for m in ("tiny", "other"))
        assert row["difference"] == pytest.approx(second["smoothness"] - first["smoothness"])
        assert row["low"] <= row["difference"] <= row["high"]
        low, high = first["smoothness_interval"]
        assert low <= first["smoothness"] <= high
    for name in ("faces", "objects"):  # patch counts, paired over the same half-samples
        (row,) = [r for r in paired if r["measure"] == f"IT {name} patch count"]
        first, second = (models[m]["categories"]["per_category"][name] for m in ("tiny", "other"))
        assert row["difference"] == second["n_patches"] - first["n_patches"]
        assert row["method"] == "half-samples, probe sources"
        assert row["low"] <= row["difference"] <= row["high"]
        assert row["low"] == int(row["low"]) and row["high"] == int(row["high"])
    for pair in ("faces-bodies", "characters-places"):  # the paper's overlaps, paired
        (row,) = [r for r in paired if r["measure"] == f"IT {pair} t-map correlation"]
        first, second = (models[m]["categories"]["overlap"][pair] for m in ("tiny", "other"))
        assert row["difference"] == pytest.approx(second - first)
        assert row["low"] <= row["difference"] <= row["high"]
        for m in ("tiny", "other"):
            low, high = models[m]["categories"]["overlap_interval"][pair]
            assert low <= models[m]["categories"]["overlap"][pair] <= high
    for area, layer in models["tiny"]["areas"].items():  # on the same probes: paired
        (row,) = [r for r in paired if r["measure"] == f"{area} effective dimensionality ({layer})"]
        first, second = (models[m]["effective_dimensionality"][layer] for m in ("tiny", "other"))
        assert row["difference"] == pytest.approx(second["estimate"] - first["estimate"])
        assert row["low"] <= row["difference"] <= row["high"]
    # top-1 on 24 test images, against the training loop's own evaluation of those images
    top1 = {}
    for label, path in [("tiny", tiny_checkpoint), ("other", other)]:
        scored = document["models"][label]["top1"]
        assert scored["images"] == 24 and scored["interval"][0] <= scored["top1"]
        assert scored["top1"] <= scored["interval"][1]
        assert main(["eval", str(path), "--subset", "24"]) == 0
        plain = float(re.search(r"top-1 (\d+\.\d+) %", capsys.readouterr().out).group(1))
        assert scored["top1"] == pytest.approx(plain, abs=0.006)
        top1[label] = scored["top1"]
    (row,) = [r for r in paired if r["measure"] == "top-1, test split (points)"]
    assert row["difference"] == pytest.approx(top1["other"] - top1["tiny"])
    assert row["method"] == "bootstrap, source images"
    assert row["low"] <= row["difference"] <= row["high"]
    # no smoothness difference across two sheets: it would be the sheets' as much as the models'
    assert not any(r["measure"].startswith("V1 smoothness") for r in paired)
    summary = (out / "summary.md").read_text()
    # seed 1 draws other sheets: the comparison is flagged before any number
    assert summary.startswith("> **Warning:** tiny and other sit on different cortical sheets")
    assert document["warnings"] and "| metric | tiny | other |" in summary
    assert "### other minus tiny (paired, 95 %)" in summary
    assert "| bootstrap, source images |" in summary
    html = (out / "index.html").read_text()
    for name in FIGURES:
        assert (out / name).stat().st_size > 1000
        assert f"src='{name}'" in html
    assert "Differences" in html and "Summary" in html and "not bodies" in html


def test_parts_that_cannot_be_computed_are_reported(tmp_path, one_thread):
    silent = tmp_path / "silent.safetensors"
    make_checkpoint(silent, v_threshold=50.0)  # nothing ever spikes
    settings = AnalysisSettings(
        top1_subset=4,
        subset=4,
        probes_per_category=3,
        n_orientations=2,
        phases_deg=(0.0,),
        timesteps=(2,),
        robustness={"fgsm": (0.1,)},
        robustness_subset=2,
        fisher_images=1,
        smoothness_samples=1,
    )
    result = analyze_checkpoint(load_checkpoint(silent), settings, progress=False)
    assert set(result.errors) == {"orientation", "categories", "lesions", "synchrony"}
    assert "tuned to the gratings" in result.errors["orientation"]
    assert {d.estimate.full for d in result.dimensionality.values()} == {0.0}
    index = write_report([result], tmp_path / "out")
    assert "orientation not computed" in index.read_text()
    assert not (tmp_path / "out" / "orientation_map.png").exists()
    with pytest.raises(ValueError, match="different labels"):
        write_report([result, result], tmp_path / "twice")


def test_models_on_different_sheets_are_flagged_and_baselines_can_share_one(tmp_path):
    """Comparing maps across sheets confounds the loss with the sheet: the command warns,
    and --sheet-from puts non-topographic models on the topographic model's sheet."""
    from tdsnn_core.reports.command import put_baselines_on, sheet_warnings
    from tdsnn_core.training.sheets_setup import sheets_differ

    path = tmp_path / "base.safetensors"
    make_checkpoint(path)  # an untrained model: no topographic loss recorded
    base, other = load_checkpoint(path), load_checkpoint(path)
    shifted = {n: s.with_positions(s.positions[::-1].copy()) for n, s in base.sheets.items()}
    other.sheets = shifted
    (warning,) = sheet_warnings([base, other], ["a", "b"])
    assert "a and b sit on different cortical sheets" in warning
    assert sheet_warnings([base, load_checkpoint(path)], ["a", "b"]) == []
    put_baselines_on([base], shifted, "sheets.safetensors")
    assert sheets_differ(base.sheets, shifted) == [] and sheet_warnings([base, other], "ab") == []


def test_chosen_parts_and_a_smoothness_difference_on_one_sheet(tmp_path, tiny_checkpoint):
    """--parts runs only the orientation map; two files of one model share a sheet, so the
    report carries their V1 smoothness and circular variance differences, exactly 0 with the
    same tiles drawn."""
    twin = tmp_path / "twin.safetensors"
    twin.write_bytes(tiny_checkpoint.read_bytes())
    out = tmp_path / "report"
    argv = [str(tiny_checkpoint), "--compare", str(twin), "--out", str(out), *SMALL]
    assert analyze([*argv, "--parts", "orientation"]) == 0

    document = json.loads((out / "metrics.json").read_text())
    for metrics in document["models"].values():
        assert set(metrics["timings_s"]) == {"orientation"}
        low, high = metrics["orientation"]["smoothness_interval"]
        assert low <= metrics["orientation"]["smoothness"] <= high
    assert not document["warnings"]
    smoothness, spread = document["paired_differences"]["twin"]
    assert smoothness["measure"] == "V1 smoothness (same sheet, tiles resampled)"
    assert spread["measure"] == "V1 circular variance of preferences (same sheet, tiles resampled)"
    for row in (smoothness, spread):
        assert row["method"] == "bootstrap, sheet tiles"
        assert (row["difference"], row["low"], row["high"]) == (0.0, 0.0, 0.0)


def test_image_folder_sources_carry_into_every_interval(tmp_path, tiny_checkpoint):
    """Labelled images from a folder with sources.json (3 variants of each of 10 sources per
    class): accuracy vs T, robustness (on a prefix of the images) and entropy intervals are
    taken over sources, and the report says how many there are."""
    import numpy as np
    from PIL import Image

    from tdsnn_core.data.sources import write_sources

    made_from = {}
    for label in range(10):  # the tiny model's 10 outputs
        folder = tmp_path / "data" / "val" / f"class{label}"
        folder.mkdir(parents=True)
        for i in range(6):
            pixels = np.random.default_rng((label, i // 3)).integers(0, 255, (28, 28))
            Image.fromarray(pixels.astype(np.uint8)).save(folder / f"{i}.png")
            made_from[f"class{label}/{i}.png"] = f"{label}-{i // 3}"
    write_sources(tmp_path / "data" / "val", made_from)
    out = tmp_path / "report"
    argv = [str(tiny_checkpoint), "--out", str(out), *SMALL, "--data", "imagefolder"]
    argv += [
        "--root",
        str(tmp_path / "data"),
        "--subset",
        "60",
        "--parts",
        "top1",
        "temporal",
        "robustness",
    ]
    assert analyze(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())["models"]["tiny"]
    assert metrics["errors"] == {}
    assert metrics["test_images"] == {"images": 60, "sources": 20}
    # 24 of the 60 images, spread over the folder: each of the 20 sources once or twice
    assert (metrics["top1"]["images"], metrics["top1"]["sources"]) == (24, 20)
    low, high = metrics["robustness"]["fgsm"]["accuracy_interval"][0]
    assert low <= metrics["robustness"]["fgsm"]["accuracy"][0] <= high
    assert len(metrics["temporal"]["accuracy_interval"]) == 2


def test_parts_on_fewer_images_spread_them_over_the_classes():
    """An image folder lists its images class by class: 64 of 256 taken as a prefix would
    be one or two classes; spread, each of 8 classes gets its 8."""
    from tdsnn_core.experiments.pipeline import spread_subset

    labels = np.repeat(np.arange(8), 32)
    chosen = spread_subset(len(labels), 64)
    assert np.bincount(labels[chosen]).tolist() == [8] * 8
    assert spread_subset(10, 50).tolist() == list(range(10))


def test_orientation_map_caption_gives_density_and_lambda_with_intervals():
    """The figure's caption: the count and density, then Lambda, each with its interval;
    Lambda stays when the map has too few columns for pinwheels."""
    from types import SimpleNamespace

    from tdsnn_core.analysis.intervals import Interval
    from tdsnn_core.reports.figures import _pinwheel_caption

    resolvable = SimpleNamespace(
        resolvable=True,
        count=96,
        density=2.746,
        density_interval=Interval(2.746, 2.32, 3.17, 0.95),
        column_spacing_mm=6.2155,
        column_spacing_interval=Interval(6.2155, 6.0, 6.38, 0.95),
    )
    assert _pinwheel_caption(resolvable) == (
        "96 pinwheels, 2.75 [2.32, 3.17] per Lambda²\nLambda 6.22 [6.00, 6.38] mm"
    )
    coarse = SimpleNamespace(
        resolvable=False, column_spacing_mm=12.17, column_spacing_interval=None
    )
    assert _pinwheel_caption(coarse) == "pinwheels not resolvable\nLambda 12.17 mm"
    no_peak = SimpleNamespace(resolvable=False, column_spacing_mm=np.nan)
    assert _pinwheel_caption(no_peak) == "pinwheels not resolvable"
