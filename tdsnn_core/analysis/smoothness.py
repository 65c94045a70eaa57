"""TDANN map smoothness: preference difference as a function of cortical distance."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.distance import pdist

from tdsnn_core.analysis._validation import as_positions, as_unit_values


def v1_distance_bin_edges(hypercolumn_width_mm: float = 3.5, n_bins: int = 9) -> np.ndarray:
    """TDANN's V1 bins: 0 to the half diagonal of a 4/3-hypercolumn window (3.30 mm)."""
    max_distance = np.sqrt(2) * (4 / 3 * hypercolumn_width_mm) / 2
    return np.linspace(0.0, max_distance, n_bins + 1)


def category_distance_bin_edges(max_distance_mm: float = 60.0, n_bins: int = 20) -> np.ndarray:
    """TDANN's bins for IT category selectivity: 0 to 60 mm in 20 bins."""
    return np.linspace(0.0, max_distance_mm, n_bins + 1)


@dataclass(frozen=True)
class Smoothness:
    """Preference-difference curves and the smoothness score.

    ``curves`` [n_samples, n_bins] holds each sample's mean |difference| per distance bin
    (NaN where that sample has no pair in the bin); ``mean_curve`` pools the pairs of all
    samples; ``score`` is ``smoothness_score(mean_curve)``.
    """

    bin_edges: np.ndarray
    curves: np.ndarray
    mean_curve: np.ndarray
    score: float

    @property
    def bin_centres(self) -> np.ndarray:
        return (self.bin_edges[:-1] + self.bin_edges[1:]) / 2


def smoothness_score(curve: np.ndarray) -> float:
    """(max(c) - c[0]) / max(c): 1 for a perfectly smooth map, about 0 for salt-and-pepper.

    Empty bins (NaN) after the first are ignored; an empty first bin raises ValueError.
    A map without any preference difference (max(c) = 0) has no measurable order and
    scores 0.
    """
    curve = np.asarray(curve, dtype=float)
    if curve.size == 0 or np.isnan(curve[0]):
        raise ValueError("the first distance bin holds no unit pair: widen it or sample more")
    peak = np.nanmax(curve)
    return float((peak - curve[0]) / peak) if peak > 0 else 0.0


def map_smoothness(
    positions: np.ndarray,
    preferences: np.ndarray,
    bin_edges: np.ndarray,
    *,
    circular_period: float | None = 180.0,
    n_samples: int = 20,
    sample_size: int = 1000,
    seed: int = 0,
) -> Smoothness:
    """TDANN smoothness of a preference map (positions [N, 2] in mm, preferences [N]).

    Each of ``n_samples`` draws ``sample_size`` units (all if fewer) without replacement
    and bins every pair by distance. The difference of two preferences is wrapped to
    [0, period / 2] when ``circular_period`` is set (180 for orientation in degrees) and
    is the plain absolute difference when it is None (e.g. category t-values).
    """
    positions = as_positions(positions)
    preferences = as_unit_values(preferences, len(positions), "preferences")
    bin_edges = np.asarray(bin_edges, dtype=float)
    rng = np.random.default_rng(seed)
    n_drawn = min(sample_size, len(positions))

    difference_sums = np.zeros((n_samples, len(bin_edges) - 1))
    pair_counts = np.zeros_like(difference_sums)
    for sample in range(n_samples):
        drawn = rng.choice(len(positions), size=n_drawn, replace=False)
        distances = pdist(positions[drawn])
        differences = pdist(preferences[drawn, None], "cityblock")
        if circular_period is not None:
            differences %= circular_period
            differences = np.minimum(differences, circular_period - differences)
        difference_sums[sample] = np.histogram(distances, bin_edges, weights=differences)[0]
        pair_counts[sample] = np.histogram(distances, bin_edges)[0]

    def mean_per_bin(sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
        return np.divide(sums, counts, out=np.full_like(sums, np.nan), where=counts > 0)

    mean_curve = mean_per_bin(difference_sums.sum(axis=0), pair_counts.sum(axis=0))
    return Smoothness(
        bin_edges=bin_edges,
        curves=mean_per_bin(difference_sums, pair_counts),
        mean_curve=mean_curve,
        score=smoothness_score(mean_curve),
    )
