"""TDANN map smoothness: preference difference as a function of cortical distance, its
null under preferences shuffled across units (same positions), and its interval (or the
interval of two maps' difference) from resampling tiles of the sheet."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial.distance import pdist

from tdsnn_core.analysis._validation import as_positions, as_unit_values
from tdsnn_core.analysis.intervals import (
    N_DRAWS,
    Interval,
    draw_counts,
    percentile_interval,
    resample,
    tile_count,
    tile_of,
)
from tdsnn_core.analysis.nulls import NullComparison

NULL_CHUNK_ELEMENTS = 4_000_000  # maps x pairs that PooledPairs scores at once
TDANN_HYPERCOLUMN_WIDTH_MM = 3.5  # TDANN's model hypercolumn, which sets its V1 window
MAX_UNDEFINED_DRAWS = 0.01  # of smoothness_interval's draws, before it gives no bounds
NO_FIRST_BIN_PAIR = "the first distance bin holds no unit pair: widen it or sample more"


def v1_distance_bin_edges(
    hypercolumn_width_mm: float = TDANN_HYPERCOLUMN_WIDTH_MM, n_bins: int = 9
) -> np.ndarray:
    """TDANN's V1 bins: 0 to the half diagonal of a 4/3-hypercolumn window (3.30 mm)."""
    max_distance = np.sqrt(2) * (4 / 3 * hypercolumn_width_mm) / 2
    return np.linspace(0.0, max_distance, n_bins + 1)


def category_distance_bin_edges(max_distance_mm: float = 60.0, n_bins: int = 20) -> np.ndarray:
    """TDANN's bins for IT category selectivity: 0 to 60 mm in 20 bins."""
    return np.linspace(0.0, max_distance_mm, n_bins + 1)


def sheet_distance_bin_edges(positions: np.ndarray, n_bins: int = 20) -> np.ndarray:
    """Bins spanning the whole sheet: 0 to the diagonal of the units' bounding box."""
    return np.linspace(0.0, float(np.hypot(*np.ptp(as_positions(positions), axis=0))), n_bins + 1)


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


@dataclass(frozen=True)
class SmoothnessNull:
    """The smoothness score beside its distribution under preferences permuted across units
    (same positions, same sampled pairs): ``score.observed`` equals ``map_smoothness``'s
    score for the same arguments; ``mean_curve`` [n_bins] is the shuffles' mean pooled curve,
    flat in distance: the chance level of this set of preferences at any distance, including
    the whole-sheet curve's (45 degrees for uniformly spread orientations, less for a few)."""

    bin_edges: np.ndarray
    score: NullComparison
    mean_curve: np.ndarray


def _scores(curves: np.ndarray) -> np.ndarray:
    """``smoothness_score`` of every row of ``curves`` [K, n_bins]."""
    if curves.shape[1] == 0 or np.isnan(curves[:, 0]).any():
        raise ValueError(NO_FIRST_BIN_PAIR)
    peak = np.nanmax(curves, axis=1)
    return np.divide(peak - curves[:, 0], peak, out=np.zeros_like(peak), where=peak > 0)


def smoothness_score(curve: np.ndarray) -> float:
    """(max(c) - c[0]) / max(c): 1 for a perfectly smooth map, about 0 for salt-and-pepper.

    Empty bins (NaN) after the first are ignored; an empty first bin raises ValueError.
    A map without any preference difference (max(c) = 0) has no measurable order and
    scores 0.
    """
    return float(_scores(np.asarray(curve, dtype=float)[None])[0])


def _difference(a: np.ndarray, b: np.ndarray, circular_period: float | None) -> np.ndarray:
    """|a - b|, wrapped to [0, period / 2] when ``circular_period`` is set (the preferences
    must already lie in [0, period): see ``_checked``)."""
    difference = np.abs(a - b)
    if circular_period is None:
        return difference
    return np.minimum(difference, circular_period - difference, out=difference)


def _mean_per_bin(sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    return np.divide(sums, counts, out=np.full(sums.shape, np.nan), where=counts > 0)


def _sampled_pairs(
    positions: np.ndarray, bin_edges: np.ndarray, n_samples: int, sample_size: int, seed: int
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per sample of ``sample_size`` units (all if fewer, without replacement): the two unit
    indices of every pair whose distance falls in a bin, and that bin (np.histogram's rule:
    half-open bins, the last one closed)."""
    rng = np.random.default_rng(seed)
    n_drawn = min(sample_size, len(positions))
    rows, cols = np.triu_indices(n_drawn, 1)  # pdist's pair order
    n_bins = len(bin_edges) - 1
    for _ in range(n_samples):
        drawn = rng.choice(len(positions), size=n_drawn, replace=False)
        distances = pdist(positions[drawn])
        inside = np.flatnonzero((distances >= bin_edges[0]) & (distances <= bin_edges[-1]))
        bins = np.searchsorted(bin_edges, distances[inside], side="right") - 1
        yield drawn[rows[inside]], drawn[cols[inside]], np.minimum(bins, n_bins - 1)


def _checked(
    positions: np.ndarray,
    preferences: np.ndarray,
    bin_edges: np.ndarray,
    circular_period: float | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated positions, preferences (reduced to [0, period) when circular) and bins."""
    positions = as_positions(positions)
    preferences = as_unit_values(preferences, len(positions), "preferences")
    if circular_period is not None:
        preferences = preferences % circular_period
    return positions, preferences, np.asarray(bin_edges, dtype=float)


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
    positions, preferences, bin_edges = _checked(positions, preferences, bin_edges, circular_period)
    n_bins = len(bin_edges) - 1
    sums = np.zeros((n_samples, n_bins))
    counts = np.zeros_like(sums)
    pairs = _sampled_pairs(positions, bin_edges, n_samples, sample_size, seed)
    for sample, (first, second, bins) in enumerate(pairs):
        differences = _difference(preferences[first], preferences[second], circular_period)
        sums[sample] = np.bincount(bins, weights=differences, minlength=n_bins)
        counts[sample] = np.bincount(bins, minlength=n_bins)
    mean_curve = _mean_per_bin(sums.sum(axis=0), counts.sum(axis=0))
    return Smoothness(
        bin_edges=bin_edges,
        curves=_mean_per_bin(sums, counts),
        mean_curve=mean_curve,
        score=smoothness_score(mean_curve),
    )


def smoothness_null(
    positions: np.ndarray,
    preferences: np.ndarray,
    bin_edges: np.ndarray,
    *,
    circular_period: float | None = 180.0,
    n_shuffles: int = 200,
    n_samples: int = 20,
    sample_size: int = 1000,
    seed: int = 0,
) -> SmoothnessNull:
    """``map_smoothness``'s score against ``n_shuffles`` maps whose preferences are permuted
    across all units, scored on the same sampled pairs (the distance bins are computed once).

    Only pairs inside the bins are kept, so keep the bins to a window of the sheet (the
    TDANN V1 or IT bins); 100k-unit maps are handled through the ``sample_size`` draws.
    """
    positions, preferences, bin_edges = _checked(positions, preferences, bin_edges, circular_period)
    _check_shuffles(n_shuffles)  # before the costly sampling
    pairs = PooledPairs.sampled(positions, bin_edges, n_samples, sample_size, seed)
    return pairs.null(preferences, circular_period, n_shuffles, seed)


def _check_shuffles(n_shuffles: int) -> None:
    if n_shuffles < 1:
        raise ValueError(f"n_shuffles must be at least 1, got {n_shuffles}")


@dataclass(frozen=True)
class PooledPairs:
    """The distinct unit pairs of ``map_smoothness``'s samples, each weighted by how often the
    samples drew it, sorted by distance bin: a map's pooled curve is a weighted sum over them
    (IT: ~2 M distinct pairs instead of 10 M drawn), one bin a contiguous run. Sample them
    once (about 1 s at IT's 2,048 units) to score many maps of the same units."""

    bin_edges: np.ndarray
    units: np.ndarray  # the sampled units; pairs index into it
    first: np.ndarray
    second: np.ndarray
    weights: np.ndarray
    starts: np.ndarray  # where each non-empty bin's run begins
    filled: np.ndarray  # the non-empty bins
    counts: np.ndarray  # [n_bins] pairs drawn per bin, duplicates included

    @classmethod
    def sampled(
        cls,
        positions: np.ndarray,
        bin_edges: np.ndarray,
        n_samples: int,
        sample_size: int,
        seed: int,
    ) -> PooledPairs:
        """The pairs of ``map_smoothness``'s samples (the same draws for the same arguments)."""
        # when every sample holds every unit, all samples have the same pairs and pooled curve
        n_distinct = 1 if sample_size >= len(positions) else n_samples
        samples = list(_sampled_pairs(positions, bin_edges, n_distinct, sample_size, seed))
        first, second, bins = (np.concatenate(parts) for parts in zip(*samples, strict=True))
        n_bins = len(bin_edges) - 1
        if not np.any(bins == 0):
            raise ValueError(NO_FIRST_BIN_PAIR)
        drawn = np.zeros(len(positions), dtype=bool)
        drawn[first] = drawn[second] = True
        units = np.flatnonzero(drawn)  # np.unique without its sort
        local = np.cumsum(drawn) - 1  # a unit's index in ``units``
        a, b = local[first], local[second]
        low, high = np.minimum(a, b), np.maximum(a, b)  # a pair is drawn in either order
        n = len(units)
        # a pair's distance, so its bin, is the same in every draw: keyed bin first, the
        # distinct keys come out sorted by bin
        keys, weights = np.unique((bins * n + low) * n + high, return_counts=True)
        filled, starts = np.unique(keys // (n * n), return_index=True)
        return cls(
            bin_edges=np.asarray(bin_edges, dtype=float),
            units=units,
            first=(keys // n % n).astype(np.int32),  # half the index traffic of int64
            second=(keys % n).astype(np.int32),
            weights=weights.astype(float),
            starts=starts,
            filled=filled,
            counts=np.bincount(bins, minlength=n_bins).astype(float),
        )

    def mean_curves(self, values: np.ndarray, circular_period: float | None) -> np.ndarray:
        """Pooled mean |difference| per bin of each row of ``values`` [K, len(units)]."""
        first, second = (np.take(values, i, axis=1) for i in (self.first, self.second))
        differences = _difference(first, second, circular_period)  # (take: 4x fancy indexing)
        differences *= self.weights
        sums = np.zeros((len(values), len(self.counts)))
        sums[:, self.filled] = np.add.reduceat(differences, self.starts, axis=1)
        return _mean_per_bin(sums, self.counts[None])

    def scores(self, maps: np.ndarray, circular_period: float | None) -> np.ndarray:
        """``map_smoothness``'s score of each map of the units [M, N]: [M]."""
        maps = np.atleast_2d(maps)[:, self.units]
        if circular_period is not None:
            maps = maps % circular_period
        chunk = max(1, NULL_CHUNK_ELEMENTS // len(self.weights))
        return np.concatenate(
            [
                _scores(self.mean_curves(maps[start : start + chunk], circular_period))
                for start in range(0, len(maps), chunk)
            ]
        )

    def null(
        self, preferences: np.ndarray, circular_period: float | None, n_shuffles: int, seed: int
    ) -> SmoothnessNull:
        """:func:`smoothness_null` of ``preferences`` [N] (in [0, period) when circular) on
        these pairs."""
        _check_shuffles(n_shuffles)
        observed = float(self.scores(preferences, circular_period)[0])
        rng = np.random.default_rng((seed, 1))
        chunk = max(1, NULL_CHUNK_ELEMENTS // len(self.weights))
        null_curves = []
        for start in range(0, n_shuffles, chunk):
            # a permutation restricted to the sampled units: distinct preferences drawn from all
            shuffled = np.stack(
                [
                    preferences[rng.choice(len(preferences), size=len(self.units), replace=False)]
                    for _ in range(min(chunk, n_shuffles - start))
                ]
            )
            null_curves.append(self.mean_curves(shuffled, circular_period))
        null_curves = np.concatenate(null_curves)
        return SmoothnessNull(
            bin_edges=self.bin_edges,
            score=NullComparison.of(observed, _scores(null_curves)),
            mean_curve=null_curves.mean(axis=0),
        )


def _tile_sums(
    positions: np.ndarray,
    preferences: np.ndarray,
    bin_edges: np.ndarray,
    *,
    sheet_edge_mm: float,
    tile_mm: float,
    circular_period: float | None,
    n_samples: int,
    sample_size: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """``map_smoothness``'s sampled pairs summed per square tile of the sheet (a pair in the
    tile of its midpoint) and distance bin: differences and counts, each [n_tiles, n_bins]."""
    positions, preferences, bin_edges = _checked(positions, preferences, bin_edges, circular_period)
    n_tiles = tile_count(sheet_edge_mm, tile_mm)
    n_bins = len(bin_edges) - 1
    sums = np.zeros(n_tiles * n_bins)
    counts = np.zeros_like(sums)
    for first, second, bins in _sampled_pairs(positions, bin_edges, n_samples, sample_size, seed):
        midpoints = (positions[first] + positions[second]) / 2
        flat = tile_of(midpoints, sheet_edge_mm, tile_mm) * n_bins + bins
        differences = _difference(preferences[first], preferences[second], circular_period)
        sums += np.bincount(flat, weights=differences, minlength=len(sums))
        counts += np.bincount(flat, minlength=len(sums))
    return sums.reshape(-1, n_bins), counts.reshape(-1, n_bins)


def _tile_replicates(sums: np.ndarray, counts: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Smoothness scores of the resampled sheets (``weights`` [n_draws, n_tiles]: how often
    each tile is drawn); NaN for a draw without a pair in the first bin."""
    curves = _mean_per_bin(weights @ sums, weights @ counts)
    scores = np.full(len(curves), np.nan)
    defined = ~np.isnan(curves[:, 0])
    if defined.any():
        scores[defined] = _scores(curves[defined])
    return scores


def smoothness_interval(
    maps: Sequence[tuple[np.ndarray, np.ndarray]],
    bin_edges: np.ndarray,
    *,
    sheet_edge_mm: float,
    tile_mm: float | None = None,
    circular_period: float | None = 180.0,
    n_draws: int = N_DRAWS,
    level: float = 0.95,
    n_samples: int = 20,
    sample_size: int = 1000,
    seed: int = 0,
) -> Interval:
    """Spatial block-bootstrap interval of a map's smoothness, or of the difference of two.

    ``maps`` holds one (positions [N, 2] mm, preferences [N]) map, or two on the same sheet
    (first minus second). The sheet is cut into square tiles of ``tile_mm`` (default: the
    window's diameter, twice the last bin edge, so that most pairs lie inside one tile) and
    each draw resamples the tiles with replacement, the same tiles for both maps: a pair
    counts in the tile of its midpoint, so a draw is a sheet of the same size made of pieces
    of this one, and what the maps share (the sheet's positions) cancels from the difference.
    The estimate is ``map_smoothness``'s score (its difference) for the same arguments. When
    more than ``MAX_UNDEFINED_DRAWS`` of the draws miss every first-bin pair (too few units
    per tile), the bounds are NaN: the sheet is too sparse to resample.
    """
    if len(maps) not in (1, 2):
        raise ValueError(f"need one map, or two for a difference, got {len(maps)}")
    bin_edges = np.asarray(bin_edges, dtype=float)
    tile_mm = tile_mm or 2 * float(bin_edges[-1])
    if not 0 < tile_mm <= sheet_edge_mm:
        raise ValueError(f"tile_mm must be in (0, {sheet_edge_mm}] mm, got {tile_mm}")
    sampling = {"n_samples": n_samples, "sample_size": sample_size, "seed": seed}
    tiles = [
        _tile_sums(
            p,
            v,
            bin_edges,
            sheet_edge_mm=sheet_edge_mm,
            tile_mm=tile_mm,
            circular_period=circular_period,
            **sampling,
        )
        for p, v in maps
    ]
    n_tiles = len(tiles[0][0])
    weights = draw_counts(resample(n_tiles, n_draws, seed), n_tiles).astype(float)
    everything = np.ones((1, n_tiles))
    estimates = [_tile_replicates(s, c, everything)[0] for s, c in tiles]
    replicates = [_tile_replicates(s, c, weights) for s, c in tiles]
    estimate = estimates[0] - estimates[1] if len(maps) == 2 else estimates[0]
    replicates = replicates[0] - replicates[1] if len(maps) == 2 else replicates[0]
    defined = replicates[np.isfinite(replicates)]
    if len(defined) < (1 - MAX_UNDEFINED_DRAWS) * n_draws:
        return Interval(float(estimate), np.nan, np.nan, level)
    return percentile_interval(estimate, defined, level)
