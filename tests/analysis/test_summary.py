"""The headline table of a report, from hand-made metrics with known answers."""

import pytest

from tdsnn_core.reports.summary import (
    differences_markdown,
    lesion_deficits,
    summary_markdown,
    summary_rows,
)


def lesion(category: str, deficit: float, control: float, specific: bool) -> dict:
    return {
        "deficit": {category: deficit},
        "control_deficit": {category: control},
        "deficit_interval": {category: [deficit - 5, deficit + 5]},
        "control_interval": {category: [control - 3, control + 3]},
        "specific": {category: specific},
        "control_p": {category: 1 / 21},
    }


def null(observed: float, mean: float, low: float, high: float, pct: float) -> dict:
    return {"observed": observed, "null_mean": mean, "null_interval": [low, high],
            "percentile": pct, "p_greater": 0.01}  # fmt: skip


def metrics(smoothness: float, top1: float) -> dict:
    return {
        "model": {"timesteps": 4, "test_top1": top1},
        "test_images": {"images": 256, "sources": 131},
        "orientation": {
            "smoothness_null": null(smoothness, 0.05, 0.0, 0.2, 100.0),
            "smoothness_interval": [smoothness - 0.04, smoothness + 0.03],
            "diversity": {
                "fractions": [0.5, 0.04, 0.0, 0.0, 0.3, 0.0, 0.0, 0.16],
                "fraction_intervals": [[0.45, 0.55], [0.031, 0.052]] + [[0.0, 0.01]] * 6,
                "occupied_bins": 3,
                "circular_variance": 0.9,
                "circular_variance_interval": [0.87, 0.95],
            },
            "pinwheels": {
                "resolvable": False,
                "reason": "Lambda under 3 unit spacings",
                "column_spacing_mm": float("nan"),
                "null_resolvable_fraction": 0.0,
                "null_densities": [],
            },
        },
        "categories": {
            "per_category": {
                "faces": {
                    "n_patches": 2,
                    "patch_interval": [1.0, 3.0],
                    "patch_null": null(2.0, 0.1, 0.0, 1.0, 100.0),
                    "smoothness": 0.61,
                    "smoothness_interval": [0.55, 0.675],
                    "smoothness_null": null(0.61, 0.1, 0.0, 0.3, 100.0),
                },
                "bodies": {"n_patches": 1, "smoothness": 0.2},  # an older file: no null
            },
            "overlap_null": {
                "faces-bodies": null(-0.5, -0.4, -0.6, -0.2, 30.0),
                "characters-places": null(0.1, 0.0, -0.3, 0.3, 60.0),
            },
            "overlap_interval": {"faces-bodies": [-0.625, -0.375], "characters-places": None},
        },
        "lesions": {
            "centred_on": {
                "faces": lesion("faces", 40.0, 2.0, True),
                "bodies": lesion("bodies", 20.0, 4.0, True),
            }
        },
        "synchrony": {
            "pairs": [0, 10, 10],
            "mean_r_ccg": [None, 0.6, 0.45],
            "shift_predictor_r_ccg": [None, 0.41, 0.41],
            "excess_r_ccg": [None, 0.19, 0.04],
            "excess_r_ccg_interval": [[None, None], [0.15, 0.23], [-0.01, 0.09]],
        },
        "temporal": {
            "timesteps": [1, 4],
            "accuracy": [50.0, 80.0],
            "accuracy_interval": [[40.0, 60.5], [72.25, 86.0]],
            "entropy_bits": {"a": [0.5, 1.0], "b": [0.5, 2.0]},
            "mean_entropy_interval": [1.41, 1.58],
        },
        "areas": {"V1": "layer1", "IT": "layer4"},
        "effective_dimensionality": {
            "layer1": {"estimate": 22.61, "interval": [20.04, 25.18], "independent_units": 1234.4},
            "layer2": {"estimate": 9.0, "interval": [8.0, 10.0], "independent_units": 99.0},
            "layer4": {"estimate": 5.25, "interval": [4.75, 5.75], "independent_units": 87.6},
        },
        "fisher_information": [16.28, 11.13],
        "fisher_information_interval": [[9.5, 24.0], [6.25, 17.0]],
        "fisher_images": 16,
        "robustness": {
            "fgsm": {
                "strength": [0.0, 0.1],
                "accuracy": [80.0, 12.5],
                "accuracy_interval": [[70.0, 90.0], [5.0, 20.0]],
            }
        },
    }


def test_lesion_deficits_average_targeted_and_control_losses_in_points():
    # faces: 40 lost vs 2 in the control; bodies: 20 vs 4
    assert lesion_deficits(metrics(0.5, 80.0)) == pytest.approx((30.0, 3.0))
    assert lesion_deficits({}) is None


def test_summary_puts_every_statistic_beside_its_null_or_interval():
    scored = {"top1": 86.25, "interval": [84.5, 88.0], "images": 2000, "sources": 1113}
    models = {
        "stc": {**metrics(0.75, 86.0), "top1": scored},
        "trained": {"model": {"timesteps": 4, "test_top1": 81.0}},
        "none": {"model": {"timesteps": 4}},
    }
    rows = {row[0]: row[1:] for row in summary_rows(models)}
    assert rows["top-1, test split (%) [95 %]"] == [
        "86.25 [84.50, 88.00] (2000 images, 1113 sources)",
        "81.00 (stored by training, no interval)",
        "n/a",
    ]
    del models["trained"]
    rows = {row[0]: row[1:] for row in summary_rows(models)}
    assert rows["test images of the rows below (their source images)"] == ["256 (131)", "n/a"]
    assert rows["V1 smoothness [95 % interval] vs shuffled preferences (analysed quarter)"] == [
        "0.75 [0.71, 0.78] (null 0.05 [0.00, 0.20], pct 100)",
        "n/a",
    ]
    assert rows["V1 orientation diversity (22.5-degree bins [95 %]; analysed quarter)"][0] == (
        "3/8 bins >= 5 % (under 5 %: 22.5° 4.0 [3.1, 5.2] %, 45° 0.0 [0.0, 1.0] %, "
        "67.5° 0.0 [0.0, 1.0] %, 112.5° 0.0 [0.0, 1.0] %, 135° 0.0 [0.0, 1.0] %), "
        "largest 50 %, circ. var. 0.90 [0.87, 0.95]"
    )
    pinwheel_row = "pinwheel density per Lambda² [95 %] (pi = 3.14; all tuned units)"
    assert rows[pinwheel_row][0] == (
        "not resolvable: Lambda under 3 unit spacings (shuffles resolvable 0 %)"
    )
    models["stc"]["orientation"]["pinwheels"] = {
        "resolvable": True,
        "density_per_lambda2": 2.78,
        "density_interval": [2.31, 3.25],
        "count": 96,
        "column_spacing_mm": 6.216,
        "column_spacing_interval": [5.978, 6.355],
        "null_resolvable_fraction": 0.0,
        "null_densities": [None] * 20,
    }
    rows = {row[0]: row[1:] for row in summary_rows(models)}
    assert rows[pinwheel_row][0] == (
        "2.78 [2.31, 3.25] (96 pinwheels, Lambda 6.22 [5.98, 6.36] mm; shuffles resolvable 0 %)"
    )
    assert rows["IT patches per category [95 %] vs label permutations"][0] == (
        "faces 2 [1, 3] (null 0.1, p 0.01), bodies 1"
    )
    assert rows["IT category smoothness [95 %] vs t-values shuffled across units"][0] == (
        "faces 0.61 [0.55, 0.68] (pct 100), bodies 0.20 (no null)"
    )
    assert rows["face-body t-map correlation [95 %] vs label permutations"][0] == (
        "-0.50 [-0.62, -0.38] (null -0.40 [-0.60, -0.20], pct 30)"
    )
    assert rows["character-place t-map correlation [95 %] vs label permutations"][0] == (
        "0.10 (null 0.00 [-0.30, 0.30], pct 60)"
    )
    assert rows["lesion deficit, points [95 %] vs random controls [95 %] (p: rank among them)"][
        0
    ] == (
        "faces 40.0 [35.0, 45.0] vs 2.0 [-1.0, 5.0] p 0.05 specific; "
        "bodies 20.0 [15.0, 25.0] vs 4.0 [1.0, 7.0] p 0.05 specific"
    )
    assert rows["V1 synchrony r_CCG, nearest bin"][0] == (
        "raw 0.60, shift predictor 0.41, excess 0.19 [0.15, 0.23] "
        "(farthest bin: excess 0.04 [-0.01, 0.09])"
    )
    assert rows["mean spike-train entropy at the model's T (bits) [95 %]"][0] == "1.50 [1.41, 1.58]"
    assert (
        rows["accuracy vs inference T (%) [95 %]"][0]
        == "T1 50.0 [40.0, 60.5], T4 80.0 [72.2, 86.0]"
    )
    assert rows["Fisher information per timestep [95 %]"][0] == (
        "I1 16.3 [9.5, 24], I2 11.1 [6.25, 17] (16 images)"
    )
    assert rows[
        "effective dimensionality of the probe responses [95 %] vs units made independent"
    ] == ["V1 (layer1) 22.6 [20.0, 25.2] (null 1234), IT (layer4) 5.2 [4.8, 5.8] (null 88)", "n/a"]
    assert rows["FGSM (eps: accuracy % [95 %])"][0] == "0.1: 12.5 [5.0, 20.0]"
    table = summary_markdown(models).splitlines()
    assert table[0] == "| metric | stc | none |"
    assert len(table) == 2 + len(rows)


def test_differences_table_marks_only_intervals_that_exclude_zero():
    a = {"measure": "a", "difference": 2.0, "low": 0.5, "high": 3.5, "excludes_zero": True}
    b = {"measure": "b", "difference": 1.0, "low": -0.5, "high": 2.5, "excludes_zero": False}
    rows = [{**a, "method": "bootstrap, sheet tiles"}, {**b, "method": "jackknife, probe sources"}]
    text = differences_markdown("none", {"stc": rows, "empty": []})
    assert "### stc minus none" in text and "empty" not in text
    assert "| a | +2.00 | [+0.50, +3.50] | bootstrap, sheet tiles | yes |" in text
    assert "| b | +1.00 | [-0.50, +2.50] | jackknife, probe sources | no |" in text
