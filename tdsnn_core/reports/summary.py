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


def _per_category(entry: Callable[[str, dict], str]) -> Row:
    """A row of ``entry(category, record)`` for each category of the IT maps."""

    def row(metrics: dict) -> str:
        per = _get(metrics, "categories", "per_category")
        return "n/a" if per is None else ", ".join(entry(k, v) for k, v in per.items())

    return row


def _patch_count(name: str, record: dict) -> str:
    null = record.get("patch_null")
    suffix = f" (null {null['null_mean']:.1f}, p {null['p_greater']:.2f})" if null else ""
    own = bracket(record.get("patch_interval"), 0)
    return f"{name} {record['n_patches']}{own}{suffix}"


def _category_smoothness(name: str, record: dict) -> str:
    null, own = record.get("smoothness_null"), bracket(record.get("smoothness_interval"), 2)
    if not null:
        return f"{name} {_number(record['smoothness'])}{own} (no null)"
    return f"{name} {_number(null['observed'])}{own} (pct {null['percentile']:.0f})"


def _versus_null(record: dict | None, digits: int = 2, interval: list | None = None) -> str:
    """'observed [interval] (null mean [2.5, 97.5] %ile, percentile)'; the observed value's
    own 95 % ``interval`` only where one was measured."""
    if not record or record.get("observed") is None:
        return "n/a"
    low, high = record["null_interval"]
    own = f" [{_number(interval[0], digits)}, {_number(interval[1], digits)}]" if interval else ""
    return (
        f"{_number(record['observed'], digits)}{own} (null {_number(record['null_mean'], digits)} "
        f"[{_number(low, digits)}, {_number(high, digits)}], pct {record['percentile']:.0f})"
    )


def _overlap(pair: str) -> Row:
    return lambda m: _versus_null(
        _get(m, "categories", "overlap_null", pair),
        interval=_get(m, "categories", "overlap_interval", pair),
    )


def _smoothness(metrics: dict) -> str:
    return _versus_null(
        _get(metrics, "orientation", "smoothness_null"),
        interval=_get(metrics, "orientation", "smoothness_interval"),
    )


def _diversity(metrics: dict) -> str:
    diversity = _get(metrics, "orientation", "diversity")
    if diversity is None:
        return "n/a"
    fractions = diversity["fractions"]
    bounds = diversity.get("fraction_intervals") or [None] * len(fractions)
    short = [  # the bins under 5 %, each with its 95 % interval over sheet tiles
        f"{22.5 * k:g}° {100 * f:.1f}{bracket(b and None not in b and [100 * v for v in b])} %"
        for k, (f, b) in enumerate(zip(fractions, bounds, strict=True))
        if f < 0.05
    ]
    return (
        f"{diversity['occupied_bins']}/8 bins >= 5 %"
        + (f" (under 5 %: {', '.join(short)})" if short else "")
        + f", largest {100 * max(fractions):.0f} %, circ. var. {diversity['circular_variance']:.2f}"
        + bracket(diversity.get("circular_variance_interval"), 2)
    )


def _pinwheels(metrics: dict) -> str:
    p = _get(metrics, "orientation", "pinwheels")
    if p is None:
        return "n/a"
    context = f"shuffles resolvable {100 * p['null_resolvable_fraction']:.0f} %"
    spacing = p["column_spacing_mm"]
    if spacing is not None and math.isfinite(spacing):
        context = (
            f"Lambda {spacing:.2f}{bracket(p.get('column_spacing_interval'), 2)} mm; {context}"
        )
    if not p["resolvable"]:
        return f"not resolvable: {p['reason']} ({context})"
    densities = [d for d in p["null_densities"] if d is not None]
    null_density = f", null density {np.mean(densities):.2f}" if densities else ""
    return (
        f"{_number(p['density_per_lambda2'])}{bracket(p.get('density_interval'), 2)} "
        f"({p['count']} pinwheels, {context}{null_density})"
    )


def lesion_deficits(metrics: dict) -> tuple[float, float] | None:
    """Mean accuracy (points) lost on the targeted category by a disc lesion centred on its
    selectivity peak, and by the random controls of the same size; None without lesions."""
    centred = _get(metrics, "lesions", "centred_on")
    if not centred:
        return None
    targeted = [r["deficit"][c] for c, r in centred.items()]
    control = [r["control_deficit"][c] for c, r in centred.items()]
    return float(np.mean(targeted)), float(np.mean(control))


def _lesions(metrics: dict) -> str:
    centred = _get(metrics, "lesions", "centred_on")
    if not centred:
        return "n/a"
    parts = []
    for category, r in centred.items():
        low, high = r["deficit_interval"][category]
        c_low, c_high = r["control_interval"][category]
        mark = " specific" if r["specific"][category] else ""
        rank = f" p {r['control_p'][category]:.2f}" if "control_p" in r else ""
        parts.append(
            f"{category} {r['deficit'][category]:.1f} [{low:.1f}, {high:.1f}] vs "
            f"{r['control_deficit'][category]:.1f} [{c_low:.1f}, {c_high:.1f}]{rank}{mark}"
        )
    return "; ".join(parts)


def _synchrony(metrics: dict) -> str:
    sync = _get(metrics, "synchrony")
    if sync is None:
        return "n/a"
    first = next((i for i, c in enumerate(sync["pairs"]) if c), None)
    if first is None:
        return "n/a"
    raw, shift, excess = (
        sync[k][first] for k in ("mean_r_ccg", "shift_predictor_r_ccg", "excess_r_ccg")
    )
    last = max(i for i, c in enumerate(sync["pairs"]) if c)

    def interval(i: int) -> str:  # the 95 % bootstrap interval over images
        low, high = sync["excess_r_ccg_interval"][i]
        return f" [{_number(low)}, {_number(high)}]"

    return (
        f"raw {_number(raw)}, shift predictor {_number(shift)}, excess {_number(excess)}"
        f"{interval(first)} (farthest bin: excess {_number(sync['excess_r_ccg'][last])}"
        f"{interval(last)})"
    )


def bracket(bounds: list | None, digits: int = 1) -> str:
    """' [low, high]' of a 95 % interval, or nothing where none was measured."""
    if not bounds or None in bounds:
        return ""
    return f" [{bounds[0]:.{digits}f}, {bounds[1]:.{digits}f}]"


def _dimensionality(metrics: dict) -> str:
    """V1's and IT's effective dimensionality with its interval and null, as "V1 (layer) ..."."""
    per_layer, areas = _get(metrics, "effective_dimensionality") or {}, _get(metrics, "areas") or {}
    shown = [(area, layer, per_layer[layer]) for area, layer in areas.items() if layer in per_layer]
    cells = [
        f"{area} ({layer}) {_number(d['estimate'], 1)}{bracket(d['interval'])} "
        f"(null {_number(d['independent_units'], 0)})"
        for area, layer, d in shown
    ]
    return ", ".join(cells) or "n/a"


def _per_timesteps(metrics: dict) -> str:
    temporal = _get(metrics, "temporal")
    if temporal is None:
        return "n/a"
    bounds = temporal.get("accuracy_interval") or [None] * len(temporal["timesteps"])
    return ", ".join(
        f"T{t} {a:.1f}{bracket(b)}"
        for t, a, b in zip(temporal["timesteps"], temporal["accuracy"], bounds, strict=True)
    )


def _entropy(metrics: dict) -> str:
    temporal, timesteps = _get(metrics, "temporal"), _get(metrics, "model", "timesteps")
    if temporal is None or timesteps not in temporal["timesteps"]:
        return "n/a"
    at = temporal["timesteps"].index(timesteps)
    mean = float(np.mean([bits[at] for bits in temporal["entropy_bits"].values()]))
    return _number(mean) + bracket(temporal.get("mean_entropy_interval"), 2)


def _fisher(metrics: dict) -> str:
    information = _get(metrics, "fisher_information")
    if information is None:
        return "n/a"
    bounds = _get(metrics, "fisher_information_interval") or [None] * len(information)
    steps = ", ".join(
        f"I{t} {value:.3g}" + ("" if not b or None in b else f" [{b[0]:.3g}, {b[1]:.3g}]")
        for t, (value, b) in enumerate(zip(information, bounds, strict=True), start=1)
    )
    images = _get(metrics, "fisher_images")
    return steps + (f" ({images} images)" if images else "")


def _robustness(name: str) -> Row:
    def row(metrics: dict) -> str:
        curve = _get(metrics, "robustness", name)
        if curve is None:
            return "n/a"
        bounds = curve.get("accuracy_interval") or [None] * len(curve["strength"])
        rows = zip(curve["strength"], curve["accuracy"], bounds, strict=True)
        return ", ".join(f"{s:g}: {a:.1f}{bracket(b)}" for s, a, b in rows if s > 0)

    return row


def _top1(metrics: dict) -> str:
    """The report's own top-1 on the whole test split with its interval; else the one the
    checkpoint stored at the end of training."""
    scored, stored = _get(metrics, "top1"), _get(metrics, "model", "test_top1")
    if scored is None:
        return "n/a" if stored is None else f"{_number(stored)} (stored by training, no interval)"
    return (
        f"{scored['top1']:.2f}{bracket(scored['interval'], 2)} "
        f"({scored['images']} images, {scored['sources']} sources)"
    )


def _test_images(metrics: dict) -> str:
    counted = _get(metrics, "test_images")
    return "n/a" if counted is None else f"{counted['images']} ({counted['sources']})"


ROWS: dict[str, Row] = {
    "top-1, test split (%) [95 %]": _top1,
    "test images of the rows below (their source images)": _test_images,
    "V1 smoothness [95 % interval] vs shuffled preferences (analysed quarter)": _smoothness,
    "V1 orientation diversity (22.5-degree bins [95 %]; analysed quarter)": _diversity,
    "pinwheel density per Lambda² [95 %] (pi = 3.14; all tuned units)": _pinwheels,
    "IT patches per category [95 %] vs label permutations": _per_category(_patch_count),
    "IT category smoothness [95 %] vs t-values shuffled across units": _per_category(
        _category_smoothness
    ),
    "face-body t-map correlation [95 %] vs label permutations": _overlap("faces-bodies"),
    "character-place t-map correlation [95 %] vs label permutations": _overlap("characters-places"),
    "lesion deficit, points [95 %] vs random controls [95 %] (p: rank among them)": _lesions,
    "effective dimensionality of the probe responses [95 %] vs units made independent": (
        _dimensionality
    ),
    "V1 synchrony r_CCG, nearest bin": _synchrony,
    "accuracy vs inference T (%) [95 %]": _per_timesteps,
    "mean spike-train entropy at the model's T (bits) [95 %]": _entropy,
    "Fisher information per timestep [95 %]": _fisher,
    "Gaussian noise (sigma: accuracy % [95 %])": _robustness("gaussian_noise"),
    "FGSM (eps: accuracy % [95 %])": _robustness("fgsm"),
    "PGD (eps: accuracy % [95 %])": _robustness("pgd"),
    "per-step pixel masking (fraction: accuracy % [95 %])": _robustness("pixel_masking"),
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


def differences_markdown(reference: str, paired: dict[str, list[dict]]) -> str:
    """Every model minus ``reference`` with its paired 95 % interval and how it was resampled
    (``comparisons``: images, sheet tiles, or the probes' sources); a difference is marked as
    one only when the interval excludes 0."""
    lines = []
    for label, rows in paired.items():
        if not rows:
            continue
        lines += [
            "",
            f"### {label} minus {reference} (paired, 95 %)",
            "",
            "| measure | difference | 95 % interval | interval over | excludes 0 |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['measure']} | {r['difference']:+.2f} | [{r['low']:+.2f}, {r['high']:+.2f}] | "
            f"{r['method']} | {'yes' if r['excludes_zero'] else 'no'} |"
            for r in rows
        ]
    return "\n".join(lines) + ("\n" if lines else "")
