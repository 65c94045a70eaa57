"""Grating tuning: preferred orientation and spatial frequency, selectivity, tuning range.

Responses are mean firing rates (non-negative) to full-field gratings, shaped
[n_orientations, n_spatial_frequencies, n_phases, N]. Tuning curves are marginal means:
the orientation curve averages over spatial frequencies and phases, and vice versa.
Silent units (all responses 0) get preference 0 and selectivity 0 rather than NaN;
``GratingTuning.responsive`` marks the units whose preferences mean something.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tdsnn_core.analysis.intervals import (
    N_DRAWS,
    Interval,
    draw_counts,
    percentile_interval,
    resample,
    tile_count,
    tile_of,
)


@dataclass(frozen=True)
class GratingTuning:
    """Per-unit tuning summary, each field [N]."""

    preferred_orientation_deg: np.ndarray
    orientation_selectivity: np.ndarray
    preferred_spatial_frequency: np.ndarray
    orientation_range: np.ndarray
    responsive: np.ndarray


def _as_grating_responses(responses: np.ndarray) -> np.ndarray:
    responses = np.asarray(responses, dtype=float)
    if responses.ndim != 4:
        raise ValueError(
            "responses must be [n_orientations, n_spatial_frequencies, n_phases, N], "
            f"got {responses.shape}"
        )
    if np.any(responses < 0):
        raise ValueError("responses must be non-negative firing rates")
    return responses


def orientation_curves(responses: np.ndarray) -> np.ndarray:
    """Orientation tuning curves [n_orientations, N]: mean over spatial frequency and phase."""
    return _as_grating_responses(responses).mean(axis=(1, 2))


def spatial_frequency_curves(responses: np.ndarray) -> np.ndarray:
    """Spatial-frequency tuning curves [n_spatial_frequencies, N]: mean over orientation and
    phase."""
    return _as_grating_responses(responses).mean(axis=(0, 2))


def _doubled_angle_resultant(curves: np.ndarray, orientations_deg: np.ndarray) -> np.ndarray:
    orientations_deg = np.asarray(orientations_deg, dtype=float)
    if orientations_deg.shape != curves.shape[:1]:
        raise ValueError("need one orientation per row of the tuning curves")
    return np.exp(2j * np.deg2rad(orientations_deg)) @ curves


def preferred_orientation(curves: np.ndarray, orientations_deg: np.ndarray) -> np.ndarray:
    """Vector-mean preferred orientation in [0, 180) degrees, [N] (0 for silent units).

    ``curves`` is [n_orientations, N]; orientations should be evenly spaced over [0, 180).
    """
    resultant = _doubled_angle_resultant(curves, orientations_deg)
    return np.rad2deg(np.angle(resultant) / 2) % 180.0


def orientation_selectivity_index(curves: np.ndarray, orientations_deg: np.ndarray) -> np.ndarray:
    """OSI = 1 - circular variance = |sum r exp(2i theta)| / sum r, in [0, 1] (0 if silent)."""
    resultant = np.abs(_doubled_angle_resultant(curves, orientations_deg))
    total = curves.sum(axis=0)
    return np.divide(resultant, total, out=np.zeros_like(total), where=total > 0)


def preferred_value(curves: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The value (spatial frequency, colour, ...) at each curve's peak, [N] (0 if silent)."""
    values = np.asarray(values, dtype=float)
    if values.shape != curves.shape[:1]:
        raise ValueError("need one value per row of the tuning curves")
    return np.where(curves.max(axis=0) > 0, values[np.argmax(curves, axis=0)], 0.0)


def tuning_range(curves: np.ndarray) -> np.ndarray:
    """Peak-to-peak of each tuning curve (max - min), [N]."""
    return np.ptp(curves, axis=0)


def top_fraction_mask(values: np.ndarray, fraction: float = 0.25) -> np.ndarray:
    """Boolean mask of the round(fraction * N) units (at least 1) with the largest ``values``.

    TDANN analyses the top 25 % of units by orientation tuning range; ties are broken by
    unit order.
    """
    values = np.asarray(values, dtype=float)
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    if values.ndim != 1 or values.size == 0:
        raise ValueError("values must be a non-empty 1-D array")
    n_kept = max(1, round(fraction * values.size))
    mask = np.zeros(values.size, dtype=bool)
    mask[np.argsort(-values, kind="stable")[:n_kept]] = True
    return mask


def grating_tuning(
    responses: np.ndarray, orientations_deg: np.ndarray, spatial_frequencies: np.ndarray
) -> GratingTuning:
    """Preferences, OSI and orientation tuning range of every unit from grating responses."""
    by_orientation = orientation_curves(responses)
    return GratingTuning(
        preferred_orientation_deg=preferred_orientation(by_orientation, orientations_deg),
        orientation_selectivity=orientation_selectivity_index(by_orientation, orientations_deg),
        preferred_spatial_frequency=preferred_value(
            spatial_frequency_curves(responses), spatial_frequencies
        ),
        orientation_range=tuning_range(by_orientation),
        responsive=by_orientation.sum(axis=0) > 0,
    )


DIVERSITY_BIN_WIDTH_DEG = 22.5


@dataclass(frozen=True)
class OrientationDiversity:
    """How evenly a set of units covers the orientations.

    Bin k holds the preferences within 11.25 degrees of ``bin_centres_deg[k]`` = 22.5 k
    (mod 180, so 179 degrees falls in the 0-degree bin): 8 bins tiling [0, 180).
    ``circular_variance`` = 1 - |mean exp(2i theta)|: 0 when every unit shares one
    orientation, about 1 for uniformly spread ones (also 1 for a 50:50 mix of two
    orthogonal orientations, which only the histogram reveals). ``fraction_intervals``
    [n_bins, 2]: each fraction's 95 % interval over tiles of the sheet, and
    ``circular_variance_interval`` the circular variance's (None without positions; see
    :func:`orientation_diversity`).
    """

    bin_centres_deg: np.ndarray
    counts: np.ndarray
    fractions: np.ndarray
    circular_variance: float
    fraction_intervals: np.ndarray | None = None
    circular_variance_interval: Interval | None = None

    def occupied_bins(self, min_fraction: float = 0.05) -> int:
        """Number of bins holding at least ``min_fraction`` of the units."""
        return int(np.sum(self.fractions >= min_fraction))


def _diversity_bins(preferred_deg: np.ndarray) -> tuple[np.ndarray, int]:
    """Each preference's 22.5-degree bin (centred on 0, 22.5, ...) and the number of bins."""
    n_bins = round(180.0 / DIVERSITY_BIN_WIDTH_DEG)
    bins = np.floor(
        ((preferred_deg + DIVERSITY_BIN_WIDTH_DEG / 2) % 180.0) / DIVERSITY_BIN_WIDTH_DEG
    ).astype(int)
    return np.minimum(bins, n_bins - 1), n_bins


def orientation_diversity(
    preferred_deg: np.ndarray,
    positions: np.ndarray | None = None,
    *,
    sheet_edge_mm: float | None = None,
    tile_mm: float | None = None,
    n_draws: int = N_DRAWS,
    level: float = 0.95,
    seed: int = 0,
) -> OrientationDiversity:
    """Histogram (22.5-degree bins centred on 0, 22.5, ..., 157.5) and circular variance of
    2 * theta of preferred orientations in degrees [N] (period 180).

    With the units' ``positions`` [N, 2] (mm) on a sheet of ``sheet_edge_mm``, each bin's
    fraction gets a percentile interval from ``n_draws`` resamplings of square tiles of
    ``tile_mm``: neighbours share their preference in a map, so units are not independent
    draws, and a binomial interval over units would be too narrow by the size of a domain.

    The circular variance's interval is for the population's, 1 - |E exp(2i theta)|. The
    plug-in |mean z|^2 is biased upward by the variance of the mean (neighbours share their
    preference, so by about (1 - |E z|^2) over the number of domains), and so would be its
    bootstrap, twice over; the interval resamples instead the unbiased estimate of |E z|^2
    from pairs of units in different tiles, sum over tile pairs S_t S_u* / sum n_t n_u (S_t:
    tile t's sum of z, n_t its units), pairs within a drawn tile or between copies of one
    tile left out, and takes the percentiles of 1 - sqrt of it (floored at 0) over the draws.
    """
    preferred_deg = np.asarray(preferred_deg, dtype=float)
    if preferred_deg.ndim != 1 or preferred_deg.size == 0:
        raise ValueError("preferred_deg must be a non-empty 1-D array")
    bins, n_bins = _diversity_bins(preferred_deg)
    counts = np.bincount(bins, minlength=n_bins)
    circular_variance = _circular_variance(preferred_deg)
    intervals = variance_interval = None
    if positions is not None:
        if sheet_edge_mm is None or tile_mm is None or not 0 < tile_mm <= sheet_edge_mm:
            raise ValueError("resampling tiles needs 0 < tile_mm <= sheet_edge_mm")
        n_tiles = tile_count(sheet_edge_mm, tile_mm)
        tiles = tile_of(positions, sheet_edge_mm, tile_mm)
        per_tile = np.zeros((n_tiles, n_bins))
        np.add.at(per_tile, (tiles, bins), 1.0)
        weights = draw_counts(resample(n_tiles, n_draws, seed), n_tiles)
        drawn = weights @ per_tile
        kept = drawn.sum(1) > 0  # a draw of empty tiles only has no fractions
        fractions = drawn[kept] / drawn[kept].sum(1, keepdims=True)
        tail = 100 * (1 - level) / 2
        intervals = np.percentile(fractions, [tail, 100 - tail], axis=0).T
        draws = _drawn_circular_variances(preferred_deg, tiles, n_tiles, weights)
        variance_interval = percentile_interval(circular_variance, draws[np.isfinite(draws)], level)
    return OrientationDiversity(
        bin_centres_deg=DIVERSITY_BIN_WIDTH_DEG * np.arange(n_bins),
        counts=counts,
        fractions=counts / preferred_deg.size,
        circular_variance=circular_variance,
        fraction_intervals=intervals,
        circular_variance_interval=variance_interval,
    )


def _circular_variance(preferred_deg: np.ndarray) -> float:
    """1 - |mean exp(2i theta)| of orientations in degrees (the plug-in estimate)."""
    return float(1 - np.abs(np.exp(2j * np.deg2rad(preferred_deg)).mean()))


def _drawn_circular_variances(
    preferred_deg: np.ndarray, tiles: np.ndarray, n_tiles: int, weights: np.ndarray
) -> np.ndarray:
    """Per draw of tiles (``weights`` [n_draws, n_tiles]), 1 - sqrt of the unbiased
    between-tile |E z|^2 (floored at 0; NaN where a draw holds one tile's units only)."""
    doubled = np.exp(2j * np.deg2rad(preferred_deg))
    sums = np.bincount(tiles, doubled.real, n_tiles) + 1j * np.bincount(
        tiles, doubled.imag, n_tiles
    )
    squared = _between_tile_resultants(weights, sums, np.bincount(tiles, minlength=n_tiles))
    return 1 - np.sqrt(np.maximum(squared, 0.0))


def paired_circular_variance_difference(
    first: tuple[np.ndarray, np.ndarray],
    second: tuple[np.ndarray, np.ndarray],
    *,
    sheet_edge_mm: float,
    tile_mm: float,
    n_draws: int = N_DRAWS,
    level: float = 0.95,
    seed: int = 0,
) -> Interval:
    """``second``'s circular variance minus ``first``'s, each (positions [N, 2] mm, preferred
    orientations [N] degrees) a set of units of one sheet, with a ``level`` interval from the
    same draws of the sheet's tiles for both (paired): per draw, the difference of the two
    between-tile estimates of :func:`orientation_diversity`."""
    n_tiles = tile_count(sheet_edge_mm, tile_mm)
    weights = draw_counts(resample(n_tiles, n_draws, seed), n_tiles)
    estimates, draws = [], []
    for positions, preferred_deg in (first, second):
        preferred_deg = np.asarray(preferred_deg, dtype=float)
        tiles = tile_of(positions, sheet_edge_mm, tile_mm)
        estimates.append(_circular_variance(preferred_deg))
        draws.append(_drawn_circular_variances(preferred_deg, tiles, n_tiles, weights))
    difference = draws[1] - draws[0]
    return percentile_interval(
        estimates[1] - estimates[0], difference[np.isfinite(difference)], level
    )


def _between_tile_resultants(
    weights: np.ndarray, sums: np.ndarray, units: np.ndarray
) -> np.ndarray:
    """Per draw of tiles (``weights`` [n_draws, n_tiles]: copies of each tile), the unbiased
    estimate of |E z|^2 over pairs of units in different tiles (never two copies of one
    tile): (|sum w S|^2 - sum w^2 |S|^2) / ((sum w n)^2 - sum w^2 n^2); NaN where a draw
    holds units of one tile only."""
    squared_weights = weights.astype(float) ** 2
    pairs = (weights @ units) ** 2 - squared_weights @ units**2
    numerator = np.abs(weights @ sums) ** 2 - squared_weights @ np.abs(sums) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, numerator / pairs, np.nan)
