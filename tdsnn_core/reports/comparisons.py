"""Model-vs-model differences with paired 95 % intervals, each resampled as its measure
allows: a bootstrap over the source images both models saw (top-1 on the whole test split,
accuracy vs inference T, robustness, spike-train entropy at the model's own T, Fisher
information per timestep), a bootstrap over tiles of the sheet both models share (V1
smoothness and the circular variance of its preferences), a jackknife over the probes'
source images (IT's category smoothness, the t-map correlations the paper reports, the
effective dimensionality of V1 and IT) and rescaled half-samples of them (IT patch counts). A
difference is called one only when its 95 % interval excludes 0 (metrics.md)."""

from __future__ import annotations

import numpy as np

from tdsnn_core.analysis.intervals import Interval, paired_difference
from tdsnn_core.analysis.maps import (
    HEADLINE_OVERLAPS,
    circular_variance_difference,
    smoothness_difference,
)
from tdsnn_core.experiments.pipeline import ModelAnalysis
from tdsnn_core.experiments.temporal import mean_entropy_interval

# How each row's paired interval was resampled (the column "interval over" of the summary).
OVER_IMAGES = "bootstrap, source images"
OVER_TILES = "bootstrap, sheet tiles"
OVER_PROBES = "jackknife, probe sources"
OVER_HALVES = "half-samples, probe sources"


def _record(measure: str, interval: Interval, method: str) -> dict:
    return {
        "measure": measure,
        "method": method,
        "difference": interval.estimate,
        "low": interval.low,
        "high": interval.high,
        "excludes_zero": interval.excludes_zero,
    }


def _same_probes(first: ModelAnalysis, second: ModelAnalysis) -> bool:
    a, b = first.probes, second.probes
    return a is not None and b is not None and np.array_equal(a.sources, b.sources)


def _probe_differences(first: ModelAnalysis, second: ModelAnalysis) -> list[dict]:
    """IT's category smoothness and headline overlaps (paired jackknife intervals) and patch
    counts (paired half-sample replicates), and V1's and IT's effective dimensionality, each
    ``second`` minus ``first``."""
    rows = []
    if first.categories and second.categories:
        a, b = first.categories, second.categories
        jackknives = [
            (f"IT {name} smoothness", a.smoothness_jackknife[name], b.smoothness_jackknife[name])
            for name in a.categories
        ]
        jackknives += [
            (f"IT {pair} t-map correlation", a.overlap_jackknife[pair], b.overlap_jackknife[pair])
            for pair in HEADLINE_OVERLAPS
            if pair in a.overlap_jackknife
        ]
        rows += [
            _record(measure, (mine - theirs).interval(), OVER_PROBES)
            for measure, theirs, mine in jackknives
            if mine is not None and theirs is not None
        ]
        rows += [
            _record(f"IT {name} patch count", b.patch_count_difference(a, name), OVER_HALVES)
            for name in a.categories
        ]
    for area, layer in first.areas.items():
        a, b = (r.dimensionality and r.dimensionality.get(layer) for r in (first, second))
        if a is not None and b is not None:
            measure = f"{area} effective dimensionality ({layer})"
            rows.append(_record(measure, b.difference(a), OVER_PROBES))
    return rows


def model_differences(first: ModelAnalysis, second: ModelAnalysis, seed: int = 0) -> list[dict]:
    """``second`` minus ``first`` on every paired measure both analyses have."""
    rows = []
    a, b = first.top1, second.top1
    if a is not None and b is not None and np.array_equal(a.labels, b.labels):
        top1 = paired_difference(100.0 * b.correct, 100.0 * a.correct, groups=a.sources, seed=seed)
        rows.append(_record("top-1, test split (points)", top1, OVER_IMAGES))
    if first.orientation and second.orientation:
        smoothness = smoothness_difference(second.orientation, first.orientation)
        if smoothness is not None:
            rows.append(
                _record("V1 smoothness (same sheet, tiles resampled)", smoothness, OVER_TILES)
            )
        spread = circular_variance_difference(second.orientation, first.orientation)
        if spread is not None:
            measure = "V1 circular variance of preferences (same sheet, tiles resampled)"
            rows.append(_record(measure, spread, OVER_TILES))
    if first.temporal and second.temporal:
        by_t = {s.timesteps: s for s in second.temporal}
        for a in first.temporal:
            if (b := by_t.get(a.timesteps)) is None:
                continue
            groups = first.sources_of(a.n_images)
            if a.correct is not None and b.correct is not None:
                diff = paired_difference(
                    100.0 * b.correct, 100.0 * a.correct, groups=groups, seed=seed
                )
                rows.append(_record(f"accuracy at T = {a.timesteps} (points)", diff, OVER_IMAGES))
            own_t = a.timesteps == first.checkpoint.model.timesteps
            if (
                own_t
                and (entropy := mean_entropy_interval(b, a, groups=groups, seed=seed)) is not None
            ):
                measure = f"spike-word entropy at T = {a.timesteps} (bits)"
                rows.append(_record(measure, entropy, OVER_IMAGES))
    if _same_probes(first, second):  # same images, same jackknife groups and halvings
        rows += _probe_differences(first, second)
    a, b = first.fisher, second.fisher  # per image and timestep, on the same images
    if a is not None and b is not None and a.shape == b.shape:
        groups = first.sources_of(len(a))
        for t in range(a.shape[1]):
            diff = paired_difference(b[:, t], a[:, t], groups=groups, seed=seed)
            rows.append(_record(f"Fisher information I_{t + 1}", diff, OVER_IMAGES))
    if first.robustness and second.robustness:
        for name, curve in first.robustness.items():
            other = second.robustness.get(name)
            if other is None or other.correct.shape != curve.correct.shape:
                continue
            for strength, diff in zip(
                curve.strengths,
                other.difference(curve, groups=first.sources_of(len(curve.correct[0])), seed=seed),
                strict=True,
            ):
                if strength > 0:
                    rows.append(_record(f"{name} {strength:g} (points)", diff, OVER_IMAGES))
    return rows
