"""Model-vs-model differences with paired bootstrap intervals over the images both models saw:
accuracy vs inference T, robustness, spike-train entropy (at the model's own T, the costly
one); and V1 smoothness, over tiles of the sheet both models share. A difference is called
one only when its 95 % interval excludes 0 (metrics.md)."""

from __future__ import annotations

import numpy as np

from tdsnn_core.analysis.intervals import (
    Interval,
    paired_difference,
    percentile_interval,
    resample,
)
from tdsnn_core.analysis.maps import smoothness_difference
from tdsnn_core.experiments.pipeline import ModelAnalysis
from tdsnn_core.experiments.temporal import SpikingStatistics, resampled_word_entropy

ENTROPY_DRAWS = 200  # entropy is recomputed per draw: ~5 ms per layer and draw


def _record(measure: str, interval: Interval) -> dict:
    return {
        "measure": measure,
        "difference": interval.estimate,
        "low": interval.low,
        "high": interval.high,
        "excludes_zero": interval.excludes_zero,
    }


def _entropy_difference(
    first: SpikingStatistics, second: SpikingStatistics, seed: int
) -> Interval | None:
    """Mean spike-word entropy over layers (bits), first minus second, images resampled."""
    layers = [name for name in first.words if name in second.words]
    if not layers:
        return None
    n_images = first.words[layers[0]].shape[0]
    draws = resample(n_images, ENTROPY_DRAWS, seed)
    a = np.mean([resampled_word_entropy(first.words[n], draws) for n in layers], axis=0)
    b = np.mean([resampled_word_entropy(second.words[n], draws) for n in layers], axis=0)
    estimate = float(np.mean([first.entropy_bits[n] - second.entropy_bits[n] for n in layers]))
    # a resample repeats images, which lowers a plug-in entropy: centre the replicates on the
    # estimate (bias-corrected percentile interval)
    replicates = a - b
    return percentile_interval(estimate, replicates + estimate - replicates.mean(), 0.95)


def model_differences(first: ModelAnalysis, second: ModelAnalysis, seed: int = 0) -> list[dict]:
    """``second`` minus ``first`` on every paired measure both analyses have."""
    rows = []
    if first.orientation and second.orientation:
        smoothness = smoothness_difference(second.orientation, first.orientation)
        if smoothness is not None:
            rows.append(_record("V1 smoothness (same sheet, tiles resampled)", smoothness))
    if first.temporal and second.temporal:
        by_t = {s.timesteps: s for s in second.temporal}
        for a in first.temporal:
            if (b := by_t.get(a.timesteps)) is None:
                continue
            if a.correct is not None and b.correct is not None:
                diff = paired_difference(100.0 * b.correct, 100.0 * a.correct, seed=seed)
                rows.append(_record(f"accuracy at T = {a.timesteps} (points)", diff))
            own_t = a.timesteps == first.checkpoint.model.timesteps
            if own_t and (entropy := _entropy_difference(b, a, seed)) is not None:
                rows.append(_record(f"spike-word entropy at T = {a.timesteps} (bits)", entropy))
    if first.robustness and second.robustness:
        for name, curve in first.robustness.items():
            other = second.robustness.get(name)
            if other is None or other.correct.shape != curve.correct.shape:
                continue
            for strength, diff in zip(
                curve.strengths, other.difference(curve, seed=seed), strict=True
            ):
                if strength > 0:
                    rows.append(_record(f"{name} {strength:g} (points)", diff))
    return rows
