"""The headline table of a report, from hand-made metrics with known answers."""

import pytest

from tdsnn_core.analysis.summary import lesion_deficits, summary_markdown, summary_rows


def metrics(smoothness: float, top1: float) -> dict:
    lesion = {
        "faces": {
            "before": {"faces": 90.0, "bodies": 80.0},
            "after": {"faces": 50.0, "bodies": 79.0},
            "control_after": {"faces": 88.0, "bodies": 80.0},
        },
        "bodies": {
            "before": {"faces": 90.0, "bodies": 80.0},
            "after": {"faces": 90.0, "bodies": 60.0},
            "control_after": {"faces": 90.0, "bodies": 76.0},
        },
    }
    return {
        "model": {"timesteps": 4, "test_top1": top1},
        "orientation": {"smoothness": smoothness, "pinwheel_density": 3.0},
        "categories": {
            "per_category": {"faces": {"n_patches": 2}, "bodies": {"n_patches": 1}},
            "overlap": {"faces-bodies": 0.5},
        },
        "lesions": {"centred_on": lesion},
        "temporal": {
            "timesteps": [1, 4],
            "accuracy": [50.0, 80.0],
            "entropy_bits": {"a": [0.5, 1.0], "b": [0.5, 2.0]},
        },
        "robustness": {"fgsm": {"strength": [0.0, 0.1], "accuracy": [80.0, 12.5]}},
    }


def test_lesion_deficits_average_targeted_and_control_losses():
    # faces: 40 lost vs 2 in the control; bodies: 20 vs 4
    assert lesion_deficits(metrics(0.5, 80.0)) == pytest.approx((30.0, 3.0))
    assert lesion_deficits({}) is None


def test_summary_has_one_column_per_model_and_marks_missing_parts():
    models = {"stc": metrics(0.75, 86.0), "none": {"model": {"timesteps": 4}}}
    rows = {row[0]: row[1:] for row in summary_rows(models)}
    assert rows["V1 smoothness"] == ["0.75", "n/a"]
    assert rows["top-1, full test set (%)"] == ["86.00", "n/a"]
    assert rows["IT patches per category"] == ["faces 2, bodies 1", "n/a"]
    assert rows["face-body t-map correlation"][0] == "0.50"
    assert rows["lesion: targeted-category accuracy lost vs random control (points)"][0] == (
        "30.0 vs 3.0"
    )
    assert rows["mean spike-train entropy at the model's T (bits)"][0] == "1.50"
    assert rows["accuracy vs inference T (%)"][0] == "T1 50.0, T4 80.0"
    assert rows["FGSM (eps: accuracy %)"][0] == "0.1: 12.5"
    table = summary_markdown(models).splitlines()
    assert table[0] == "| metric | stc | none |"
    assert len(table) == 2 + len(rows)
