"""The headline numbers of analyses side by side: one row per metric, one column per model
(the results table of a report, written as summary.md next to metrics.json)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

Row = Callable[[dict], str]


def _number(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _get(metrics: dict, *keys: str) -> object:
    for key in keys:
        if not isinstance(metrics, dict) or key not in metrics:
            return None
        metrics = metrics[key]
    return metrics


def _patches(metrics: dict) -> str:
    per = _get(metrics, "categories", "per_category")
    return "n/a" if per is None else ", ".join(f"{k} {v['n_patches']}" for k, v in per.items())


def _overlap(pair: str) -> Row:
    return lambda m: _number(_get(m, "categories", "overlap", pair))


def lesion_deficits(metrics: dict) -> tuple[float, float] | None:
    """Mean accuracy (points) lost on the targeted category by a disc lesion centred on its
    selectivity peak, and by the random control of the same size; None without lesions."""
    centred = _get(metrics, "lesions", "centred_on")
    if not centred:
        return None
    targeted = [r["before"][c] - r["after"][c] for c, r in centred.items()]
    control = [r["before"][c] - r["control_after"][c] for c, r in centred.items()]
    return float(np.mean(targeted)), float(np.mean(control))


def _lesions(metrics: dict) -> str:
    deficits = lesion_deficits(metrics)
    return "n/a" if deficits is None else f"{deficits[0]:.1f} vs {deficits[1]:.1f}"


def _per_timesteps(metrics: dict) -> str:
    temporal = _get(metrics, "temporal")
    if temporal is None:
        return "n/a"
    return ", ".join(
        f"T{t} {a:.1f}" for t, a in zip(temporal["timesteps"], temporal["accuracy"], strict=True)
    )


def _entropy(metrics: dict) -> str:
    temporal, timesteps = _get(metrics, "temporal"), _get(metrics, "model", "timesteps")
    if temporal is None or timesteps not in temporal["timesteps"]:
        return "n/a"
    at = temporal["timesteps"].index(timesteps)
    return _number(float(np.mean([bits[at] for bits in temporal["entropy_bits"].values()])))


def _robustness(name: str) -> Row:
    def row(metrics: dict) -> str:
        curve = _get(metrics, "robustness", name)
        if curve is None:
            return "n/a"
        pairs = zip(curve["strength"], curve["accuracy"], strict=True)
        return ", ".join(f"{s:g}: {a:.1f}" for s, a in pairs if s > 0)

    return row


ROWS: dict[str, Row] = {
    "top-1, full test set (%)": lambda m: _number(_get(m, "model", "test_top1")),
    "V1 smoothness": lambda m: _number(_get(m, "orientation", "smoothness")),
    "pinwheel density (per hc², pi = 3.14)": lambda m: _number(
        _get(m, "orientation", "pinwheel_density")
    ),
    "IT patches per category": _patches,
    "face-body t-map correlation": _overlap("faces-bodies"),
    "character-place t-map correlation": _overlap("characters-places"),
    "lesion: targeted-category accuracy lost vs random control (points)": _lesions,
    "accuracy vs inference T (%)": _per_timesteps,
    "mean spike-train entropy at the model's T (bits)": _entropy,
    "Gaussian noise (sigma: accuracy %)": _robustness("gaussian_noise"),
    "FGSM (eps: accuracy %)": _robustness("fgsm"),
    "PGD (eps: accuracy %)": _robustness("pgd"),
    "per-step pixel masking (fraction: accuracy %)": _robustness("pixel_masking"),
}


def summary_rows(models: dict[str, dict]) -> list[list[str]]:
    """[metric, value per model...] rows of the headline table for {label: metrics}."""
    return [[name, *(row(m) for m in models.values())] for name, row in ROWS.items()]


def summary_markdown(models: dict[str, dict]) -> str:
    """The headline table as Markdown."""
    header = ["metric", *models]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in summary_rows(models)]
    return "\n".join(lines) + "\n"
