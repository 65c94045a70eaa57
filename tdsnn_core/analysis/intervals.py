"""Bootstrap intervals over images, for a model's mean score and for the difference between
two models (or a model before and after a lesion) scored on the same images.

The statistic is always a mean over images of a per-image value: accuracy in % is the mean
of 0/100 correctness, mean entropy the mean of per-image entropies. Intervals are
percentile bootstrap intervals with a fixed seed. :func:`paired_difference` resamples the
image indices once per draw and applies them to both models, so what the two share (the
same hard images) cancels out of the difference instead of widening it.

``groups`` (one id per image) makes the bootstrap resample whole groups: images that are
variants of one source (e.g. augmented copies of one face) are not independent, and
counting them as such would make the interval too narrow. :func:`jackknife_interval` is the
delete-one-group jackknife, for a statistic that is no mean over images (effective
dimensionality), where a bootstrap's repeated images would bias the replicates.
:func:`count_interval` is for an integer count from a thresholded map (patches), where
neither the jackknife (most leave-outs change nothing) nor a percentile interval holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm
from scipy.stats import t as student_t

N_DRAWS = 2000


@dataclass(frozen=True)
class Interval:
    """A point estimate and its ``level`` (e.g. 0.95) confidence interval [low, high]."""

    estimate: float
    low: float
    high: float
    level: float

    @property
    def bounds(self) -> list[float]:
        """[low, high], as the reports and the service write it."""
        return [float(self.low), float(self.high)]

    @property
    def excludes_zero(self) -> bool:
        """Whether the interval lies entirely on one side of 0 (a difference "is one")."""
        return self.low > 0 or self.high < 0


def group_totals(values: np.ndarray, groups: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Sums of ``values`` [..., n_images] per group (last axis -> n_groups) and group sizes.

    Without ``groups`` every image is its own group.
    """
    values = np.asarray(values, dtype=float)
    if groups is None:
        return values, np.ones(values.shape[-1])
    groups = np.asarray(groups)
    if groups.shape != values.shape[-1:]:
        raise ValueError(f"need one group per image: {groups.shape} vs {values.shape[-1:]}")
    _, index = np.unique(groups, return_inverse=True)
    sums = np.zeros((*values.shape[:-1], index.max() + 1))
    np.add.at(sums, (..., index), values)
    return sums, np.bincount(index).astype(float)


def resample(n_groups: int, n_draws: int = N_DRAWS, seed: int = 0) -> np.ndarray:
    """Group indices drawn with replacement: [n_draws, n_groups]."""
    if n_groups < 1 or n_draws < 1:
        raise ValueError(f"need >= 1 group and >= 1 draw, got {n_groups} and {n_draws}")
    return np.random.default_rng(seed).integers(0, n_groups, size=(n_draws, n_groups))


def draw_counts(draws: np.ndarray, n_groups: int) -> np.ndarray:
    """How often each group is taken by each draw: indices [n_draws, m] -> [n_draws, n_groups]."""
    draws = np.atleast_2d(draws)
    flat = np.arange(len(draws))[:, None] * n_groups + draws
    return np.bincount(flat.ravel(), minlength=len(draws) * n_groups).reshape(-1, n_groups)


def tile_count(sheet_edge_mm: float, tile_mm: float) -> int:
    """How many square tiles of ``tile_mm`` cover a sheet of ``sheet_edge_mm``."""
    return int(np.ceil(sheet_edge_mm / tile_mm)) ** 2


def tile_of(positions: np.ndarray, sheet_edge_mm: float, tile_mm: float) -> np.ndarray:
    """The tile (of :func:`tile_count`, row by row) that holds each point [N, 2] (mm); points on
    the far edge count in the last tile. Tiles are the groups of a spatial block bootstrap."""
    per_side = int(np.ceil(sheet_edge_mm / tile_mm))
    cell = np.clip(np.asarray(positions, dtype=float) // tile_mm, 0, per_side - 1).astype(int)
    return cell[:, 1] * per_side + cell[:, 0]


def percentile_interval(estimate: float, replicates: np.ndarray, level: float) -> Interval:
    """The central ``level`` percentile interval of bootstrap ``replicates``."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    low, high = np.percentile(replicates, [50 * (1 - level), 50 * (1 + level)])
    return Interval(float(estimate), float(low), float(high), level)


def jackknife_interval(full: float, leave_outs: np.ndarray, level: float = 0.95) -> Interval:
    """``full`` with its ``level`` interval from the delete-one-group jackknife: the standard
    error from ``leave_outs`` [g] (the statistic without each group in turn), t quantiles with
    g - 1 degrees of freedom."""
    leave_outs = np.asarray(leave_outs, dtype=float)
    g = len(leave_outs)
    if g < 2 or not 0 < level < 1:
        raise ValueError(f"need >= 2 leave-outs and a level in (0, 1), got {g} and {level}")
    error = np.sqrt((g - 1) / g * np.sum((leave_outs - leave_outs.mean()) ** 2))
    half = student_t.ppf((1 + level) / 2, g - 1) * error
    return Interval(float(full), float(full - half), float(full + half), level)


def correlation_jackknife_interval(
    r: float, leave_outs: np.ndarray, level: float = 0.95
) -> Interval:
    """A correlation ``r`` with its jackknife interval taken on Fisher's z = atanh(r) and
    mapped back, so that it stays inside (-1, 1)."""
    z = np.arctanh(np.clip(np.r_[r, leave_outs], -1 + 1e-12, 1 - 1e-12))
    interval = jackknife_interval(z[0], z[1:], level)
    return Interval(float(r), float(np.tanh(interval.low)), float(np.tanh(interval.high)), level)


def count_interval(
    count: int, replicates: np.ndarray, level: float = 0.95, *, at_least: float | None = 0.0
) -> Interval:
    """An integer count (e.g. of patches) with its ``level`` interval from replicates that
    scatter about it as it scatters about its expectation (rescaled half-samples): the
    count +- the normal quantile times their standard deviation, widened to whole counts
    and never below ``at_least`` (None for a difference of two counts, with paired
    replicates). It targets the median count of independent data sets: a count's mean is
    rarely a count."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    half = norm.ppf((1 + level) / 2) * float(np.std(replicates))
    low, high = np.floor(count - half) + 0.0, np.ceil(count + half) + 0.0  # no -0.0
    if at_least is not None:
        low = max(at_least, low)
    return Interval(float(count), float(low), float(high), level)


@dataclass(frozen=True)
class Jackknife:
    """A statistic on all the data (``full``) and with each group of it left out in turn
    (``leave_outs`` [g]): the delete-a-group jackknife's replicates."""

    full: float
    leave_outs: np.ndarray

    def interval(self, level: float = 0.95) -> Interval:
        """``full`` with its jackknife interval (:func:`jackknife_interval`)."""
        return jackknife_interval(self.full, self.leave_outs, level)

    def correlation_interval(self, level: float = 0.95) -> Interval:
        """The same for a correlation, on Fisher's z (:func:`correlation_jackknife_interval`)."""
        return correlation_jackknife_interval(self.full, self.leave_outs, level)

    def __sub__(self, other: Jackknife) -> Jackknife:
        """The paired difference: each group left out of both."""
        if self.leave_outs.shape != other.leave_outs.shape:
            raise ValueError("a paired jackknife difference needs the same groups left out")
        return Jackknife(self.full - other.full, self.leave_outs - other.leave_outs)


def bootstrap_interval(
    values: np.ndarray,
    *,
    groups: np.ndarray | None = None,
    n_draws: int = N_DRAWS,
    level: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap interval of the mean of per-image ``values`` [n_images]."""
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or not len(values):
        raise ValueError(f"need a non-empty score per image, got shape {values.shape}")
    sums, sizes = group_totals(values, groups)
    draws = resample(len(sizes), n_draws, seed)
    replicates = sums[draws].sum(1) / sizes[draws].sum(1)
    return percentile_interval(float(values.mean()), replicates, level)


def paired_difference(
    a: np.ndarray,
    b: np.ndarray,
    *,
    groups: np.ndarray | None = None,
    n_draws: int = N_DRAWS,
    level: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Paired bootstrap interval of mean(a) - mean(b) for two per-image scores [n_images] of
    the same images: every draw resamples the images once for both, i.e. it bootstraps the
    per-image differences a - b."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired scores must cover the same images, got {a.shape} and {b.shape}")
    return bootstrap_interval(a - b, groups=groups, n_draws=n_draws, level=level, seed=seed)
