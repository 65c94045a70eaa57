"""The JSON-ready metrics of an analysis (metrics.json), flattened scalars and differences."""

from __future__ import annotations

import math

import numpy as np

from tdsnn_core.analysis.dimensionality import Dimensionality
from tdsnn_core.analysis.intervals import Interval
from tdsnn_core.analysis.nulls import NullComparison
from tdsnn_core.data.sources import source_count
from tdsnn_core.experiments.accuracy import ScoredImages
from tdsnn_core.experiments.lesions import LesionEffect
from tdsnn_core.experiments.pipeline import ModelAnalysis
from tdsnn_core.experiments.temporal import fisher_intervals, mean_entropy_interval


def json_ready(value):
    """JSON-ready: numpy to Python, NaN/inf to None."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def null_record(comparison: NullComparison | None) -> dict | None:
    """An observed statistic beside its null: mean, std, 95 % interval, percentile, z, p."""
    if comparison is None:
        return None
    return {
        "observed": comparison.observed,
        "null_mean": comparison.mean,
        "null_std": comparison.std,
        "null_interval": comparison.interval,
        "percentile": comparison.percentile,
        "z": comparison.z,
        "p_greater": comparison.p_greater,
        "p_two_sided": comparison.p_two_sided,
        "n_null": len(comparison.null),
    }


def _bounds(interval: Interval | None) -> list[float] | None:
    return None if interval is None else interval.bounds


def _lesion_record(effect: LesionEffect, categories: tuple[str, ...]) -> dict:
    """Accuracies in percent, deficits in points with their 95 % intervals, per category."""
    per_category = {
        key: dict(zip(categories, getattr(effect, key), strict=True))
        for key in (
            "before",
            "after",
            "control_after",
            "deficit",
            "control_deficit",
            "specific",
            "control_p",
        )
    }
    intervals = {
        key: dict(zip(categories, getattr(effect, key).tolist(), strict=True))
        for key in ("deficit_interval", "control_interval")
    }
    return {
        "centre_mm": effect.centre_mm,
        "radius_mm": effect.radius_mm,
        "n_units": effect.n_units,
        "n_controls": len(effect.control_draws),
        **per_category,
        **intervals,
    }


def _counted(images: int, sources: np.ndarray | None) -> dict:
    """How many images, and how many independent source images they come from."""
    return {"images": images, "sources": source_count(images, sources)}


def _top1_record(scored: ScoredImages) -> dict:
    """Top-1 on the test split (%) with its 95 % interval over source images."""
    top1 = scored.interval()
    return {**_counted(len(scored.correct), scored.sources), "top1": top1.estimate,
            "interval": _bounds(top1)}  # fmt: skip


def _dimensionality_record(dimensionality: Dimensionality) -> dict:
    """A layer's effective dimensionality, its 95 % interval over source images, and the
    null's (the same units made independent)."""
    interval = dimensionality.interval()
    return {
        "estimate": interval.estimate,
        "interval": interval.bounds,
        "independent_units": dimensionality.independent,
        "stimuli": dimensionality.n_stimuli,
        "sources": len(dimensionality.sources),
    }


def analysis_metrics(result: ModelAnalysis) -> dict:
    """The JSON-serialisable metrics of one analysis."""
    ckpt = result.checkpoint
    metrics: dict = {
        "model": {
            "name": ckpt.model.model_name,
            "checkpoint": str(ckpt.path),
            "timesteps": ckpt.model.timesteps,
            "test_top1": ckpt.meta.get("metrics", {}).get("eval_top1"),
        },
        "top1": None if result.top1 is None else _top1_record(result.top1),
        "test_images": None if (g := result.image_sources) is None else _counted(len(g), g),
        "areas": result.areas,
        "errors": result.errors,
        "timings_s": result.timings,
    }
    if (om := result.orientation) is not None:
        metrics["orientation"] = {
            "n_units": len(om.analysed),
            "n_responsive": int(om.tuning.responsive.sum()),
            "n_analysed": int(om.analysed.sum()),
            "mean_osi": float(om.tuning.orientation_selectivity[om.analysed].mean()),
            "smoothness": om.smoothness.score,
            "smoothness_interval": om.smoothness_interval.bounds,
            "smoothness_curve": {
                "distance_mm": om.smoothness.bin_centres,
                "mean_difference_deg": om.smoothness.mean_curve,
            },
            "smoothness_null": {
                **null_record(om.smoothness_null.score),
                "chance_curve_deg": om.smoothness_null.mean_curve,
            },
            "sheet_curve": {
                "distance_mm": om.sheet_curve.bin_centres,
                "mean_difference_deg": om.sheet_curve.mean_curve,
            },
            "diversity": {
                "bin_centres_deg": om.diversity.bin_centres_deg,
                "fractions": om.diversity.fractions,
                "fraction_intervals": om.diversity.fraction_intervals,
                "occupied_bins": om.diversity.occupied_bins(),
                "circular_variance": om.diversity.circular_variance,
                "circular_variance_interval": _bounds(om.diversity.circular_variance_interval),
            },
            "pinwheels": {
                "count": om.pinwheels.count,
                "resolvable": om.pinwheels.resolvable,
                "reason": om.pinwheels.reason,
                "column_spacing_mm": om.pinwheels.column_spacing_mm,
                "column_spacing_interval": _bounds(om.pinwheels.column_spacing_interval),
                "density_per_lambda2": om.pinwheels.density,
                "density_interval": _bounds(om.pinwheels.density_interval),
                "null_counts": om.pinwheel_null.counts,
                "null_densities": om.pinwheel_null.densities,
                "null_resolvable_fraction": om.pinwheel_null.resolvable_fraction,
            },
        }
    if result.probes is not None:
        metrics["probes"] = {
            "counts": result.probes.counts(),
            "descriptions": result.probes.descriptions,
        }
    if (cm := result.categories) is not None:
        metrics["categories"] = {
            "per_category": {
                name: {
                    "n_patches": cm.patches[name].count,
                    "patch_areas_mm2": cm.patches[name].areas_mm2,
                    "patch_interval": cm.patch_interval(name).bounds,
                    "patch_null": null_record(cm.patch_null.get(name)),
                    "max_t": float(cm.t_values[name].max()),
                    "smoothness": cm.smoothness[name].score,
                    "smoothness_interval": _bounds(cm.smoothness_interval(name)),
                    "smoothness_null": null_record(cm.smoothness_null[name].score),
                }
                for name in cm.categories
            },
            "overlap": cm.overlaps,
            "overlap_null": {pair: null_record(c) for pair, c in cm.overlap_null.items()},
            "overlap_interval": {pair: _bounds(cm.overlap_interval(pair)) for pair in cm.overlaps},
        }
    if result.dimensionality is not None:
        metrics["effective_dimensionality"] = {
            layer: _dimensionality_record(d) for layer, d in result.dimensionality.items()
        }
    if result.lesions is not None:
        cats = result.categories.categories
        metrics["lesions"] = {
            "layer": next(iter(result.lesions.values())).layer,
            "centred_on": {name: _lesion_record(e, cats) for name, e in result.lesions.items()},
            "sweep": {
                "category": result.sweep_category,
                "lesions": [_lesion_record(e, cats) for e in result.sweep],
            },
        }
    if result.temporal is not None:
        own = next(
            (s for s in result.temporal if s.timesteps == ckpt.model.timesteps), result.temporal[-1]
        )
        metrics["temporal"] = {
            "timesteps": [s.timesteps for s in result.temporal],
            "accuracy": [s.accuracy for s in result.temporal],
            "accuracy_interval": [
                _bounds(s.accuracy_interval(result.sources_of(s.n_images))) for s in result.temporal
            ],
            "entropy_bits": {
                layer: [s.entropy_bits[layer] for s in result.temporal]
                for layer in own.entropy_bits
            },
            "mean_entropy_interval": _bounds(
                mean_entropy_interval(own, groups=result.sources_of(own.n_images))
            ),
            "rate_per_step": own.rate_per_step,
        }
    if (sc := result.synchrony) is not None:
        metrics["synchrony"] = {
            "layer": sc.layer,
            "distance_mm": sc.bin_centres,
            "mean_r_ccg": sc.mean_r,
            "shift_predictor_r_ccg": sc.shift_r,
            "excess_r_ccg": sc.excess_r,
            "excess_r_ccg_interval": np.stack([sc.excess_low, sc.excess_high], axis=1),
            "pairs": sc.pair_counts,
        }
    if result.fisher is not None:
        information = fisher_intervals(result.fisher, result.sources_of(len(result.fisher)))
        metrics["fisher_information"] = [i.estimate for i in information]
        metrics["fisher_information_interval"] = [_bounds(i) for i in information]
        metrics["fisher_images"] = len(result.fisher)
    if result.robustness is not None:
        metrics["robustness"] = {
            name: {
                "strength": curve.strengths,
                "accuracy": curve.accuracy,
                "accuracy_interval": [
                    _bounds(i)
                    for i in curve.intervals(groups=result.sources_of(curve.correct.shape[1]))
                ],
            }
            for name, curve in result.robustness.items()
        }
    return json_ready(metrics)


def scalar_metrics(metrics: dict, prefix: str = "") -> dict[str, float]:
    """Flatten the numeric scalars of a metrics dict into "a.b.c" keys (lists excluded)."""
    flat: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and key not in ("errors",):
            flat.update(scalar_metrics(value, name + "."))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            flat[name] = float(value)
    return flat


def metric_differences(first: dict, second: dict) -> list[tuple[str, float, float, float]]:
    """(metric, first, second, second - first) for every scalar both analyses have."""
    a, b = scalar_metrics(first), scalar_metrics(second)
    return [(k, a[k], b[k], b[k] - a[k]) for k in a if k in b and not k.startswith("timings_s")]
