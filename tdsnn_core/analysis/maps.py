"""Layer-level maps: a V1 orientation map (tuning, smoothness, pinwheels, orientation
diversity) and IT category maps (t-values, smoothed t-maps, patches, overlaps), from recorded
firing rates, each statistic beside its null (shuffled preferences, permuted labels)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from tdsnn_core.analysis._validation import as_positions
from tdsnn_core.analysis.category import (
    Patches,
    TMap,
    find_patches,
    half_sample_t_values,
    jackknife_groups,
    label_permutation_null,
    leave_out_t_values,
    overlap_leave_outs,
    patch_counts,
    smoothed_t_map,
    t_map_correlation,
    welch_t_by_category,
)
from tdsnn_core.analysis.intervals import Interval, Jackknife, count_interval
from tdsnn_core.analysis.nulls import NullComparison
from tdsnn_core.analysis.pinwheels import (
    PinwheelNull,
    Pinwheels,
    detect_pinwheels,
    shuffled_pinwheel_null,
)
from tdsnn_core.analysis.smoothness import (
    TDANN_HYPERCOLUMN_WIDTH_MM,
    PooledPairs,
    Smoothness,
    SmoothnessNull,
    category_distance_bin_edges,
    map_smoothness,
    sheet_distance_bin_edges,
    smoothness_interval,
    smoothness_null,
    v1_distance_bin_edges,
)
from tdsnn_core.analysis.stimuli import GratingSet
from tdsnn_core.analysis.tuning import (
    GratingTuning,
    OrientationDiversity,
    grating_tuning,
    orientation_diversity,
    paired_circular_variance_difference,
    top_fraction_mask,
)

OSI_FLOOR = 1e-6  # below it a unit's orientation curve is flat to float precision


@dataclass(frozen=True)
class OrientationMap:
    """Tuning of every unit, the analysed units (top fraction by tuning range among the
    tuned ones: responsive, orientation selectivity above :data:`OSI_FLOOR`) and, for their
    map: the TDANN smoothness (window of 4/3 hypercolumn) beside its shuffle null and its
    95 % interval (tiles of the sheet resampled), the whole-sheet curve in degrees and the
    orientation diversity; and the pinwheels of the map of all tuned units (as TDANN counts
    them, its unit mask reset: the population's map, as optical imaging sees it; the
    detector's noise criterion decides whether they are resolvable) beside the pinwheels
    of shuffled maps."""

    positions: np.ndarray
    tuning: GratingTuning
    analysed: np.ndarray
    smoothness: Smoothness
    smoothness_null: SmoothnessNull
    smoothness_interval: Interval
    sheet_curve: Smoothness
    diversity: OrientationDiversity
    pinwheels: Pinwheels
    pinwheel_null: PinwheelNull
    sheet_edge_mm: float
    hypercolumn_width_mm: float
    sample_size: int
    seed: int

    @property
    def analysed_map(self) -> tuple[np.ndarray, np.ndarray]:
        """Positions [n, 2] and preferred orientations [n] of the analysed units."""
        return self.positions[self.analysed], self.tuning.preferred_orientation_deg[self.analysed]


def _diversity_tile_mm(hypercolumn_width_mm: float) -> float:
    """The orientation diversity's tiles: the smoothness interval's (twice its window)."""
    return 2 * float(v1_distance_bin_edges(hypercolumn_width_mm)[-1])


def _same_sheet(first: OrientationMap, second: OrientationMap) -> bool:
    """Both maps on one sheet (same positions) and windows: a difference across sheets is a
    difference of sheets as much as of models."""
    return (
        first.positions.shape == second.positions.shape
        and np.array_equal(first.positions, second.positions)
        and first.hypercolumn_width_mm == second.hypercolumn_width_mm
    )


def smoothness_difference(first: OrientationMap, second: OrientationMap) -> Interval | None:
    """``first``'s smoothness minus ``second``'s with its 95 % interval (the same tiles of
    the sheet resampled for both); None unless both maps sit on one sheet (same positions),
    since a difference across sheets is a difference of sheets as much as of models."""
    if not _same_sheet(first, second):
        return None
    return smoothness_interval(
        [first.analysed_map, second.analysed_map],
        v1_distance_bin_edges(first.hypercolumn_width_mm),
        sheet_edge_mm=first.sheet_edge_mm,
        n_samples=len(first.smoothness.curves),
        sample_size=first.sample_size,
        seed=first.seed,
    )


def circular_variance_difference(first: OrientationMap, second: OrientationMap) -> Interval | None:
    """``first``'s circular variance (analysed units) minus ``second``'s with its 95 %
    interval from the same tiles of the sheet (:func:`paired_circular_variance_difference`);
    None unless both maps sit on one sheet."""
    if not _same_sheet(first, second):
        return None
    return paired_circular_variance_difference(
        second.analysed_map,
        first.analysed_map,
        sheet_edge_mm=first.sheet_edge_mm,
        tile_mm=_diversity_tile_mm(first.hypercolumn_width_mm),
        seed=first.seed,
    )


def orientation_map(
    positions: np.ndarray,
    rates: np.ndarray,
    gratings: GratingSet,
    *,
    sheet_edge_mm: float | None = None,
    hypercolumn_width_mm: float = TDANN_HYPERCOLUMN_WIDTH_MM,
    top_fraction: float = 0.25,
    n_samples: int = 20,
    sample_size: int = 1000,
    n_shuffles: int = 200,
    n_pinwheel_shuffles: int = 20,
    seed: int = 0,
) -> OrientationMap:
    """Orientation map of a layer from its rates [n_gratings, N] to ``gratings``.

    ``hypercolumn_width_mm`` sets TDANN's smoothness window; ``n_shuffles`` maps with the
    analysed preferences permuted across their units give the smoothness null and
    ``n_pinwheel_shuffles`` the pinwheel null. The whole-sheet curve uses
    ``sheet_distance_bin_edges`` (20 bins up to the sheet's diagonal).

    Raises ValueError when fewer than 2 units respond to any grating (nothing to map).
    """
    tuning = grating_tuning(
        gratings.responses(rates), gratings.orientations_deg, gratings.frequencies
    )
    # A unit with a flat (or orientation-symmetric) curve has no preferred orientation:
    # its vector mean is 0 and its angle an artefact (0 degrees), so only tuned units count.
    tuned = np.flatnonzero(tuning.responsive & (tuning.orientation_selectivity > OSI_FLOOR))
    if len(tuned) < 2:
        raise ValueError(
            f"only {len(tuned)} of {len(tuning.responsive)} units are tuned to the gratings' "
            "orientation: no orientation map (is the model trained? try more contrast or "
            "timesteps)"
        )
    analysed = np.zeros(len(tuning.responsive), dtype=bool)
    analysed[tuned[top_fraction_mask(tuning.orientation_range[tuned], top_fraction)]] = True
    analysed_positions = positions[analysed]
    preferences = tuning.preferred_orientation_deg[analysed]
    sampling = {"n_samples": n_samples, "sample_size": sample_size, "seed": seed}
    window = v1_distance_bin_edges(hypercolumn_width_mm)
    smoothness = map_smoothness(analysed_positions, preferences, window, **sampling)
    edge = sheet_edge_mm or float(positions.max())
    tuned_map = positions[tuned], tuning.preferred_orientation_deg[tuned]
    pinwheels = detect_pinwheels(*tuned_map, sheet_edge_mm=sheet_edge_mm, seed=seed)
    return OrientationMap(
        positions=positions,
        tuning=tuning,
        analysed=analysed,
        smoothness=smoothness,
        smoothness_null=smoothness_null(
            analysed_positions, preferences, window, n_shuffles=n_shuffles, **sampling
        ),
        smoothness_interval=smoothness_interval(
            [(analysed_positions, preferences)], window, sheet_edge_mm=edge, **sampling
        ),
        sheet_curve=map_smoothness(
            analysed_positions,
            preferences,
            sheet_distance_bin_edges(analysed_positions),
            **sampling,
        ),
        diversity=orientation_diversity(
            preferences,
            analysed_positions,
            sheet_edge_mm=edge,
            tile_mm=_diversity_tile_mm(hypercolumn_width_mm),
            seed=seed,
        ),
        pinwheels=pinwheels,
        pinwheel_null=shuffled_pinwheel_null(
            *tuned_map,
            n_shuffles=n_pinwheel_shuffles,
            seed=seed,
            sheet_edge_mm=sheet_edge_mm,
        ),
        sheet_edge_mm=edge,
        hypercolumn_width_mm=hypercolumn_width_mm,
        sample_size=sample_size,
        seed=seed,
    )


HEADLINE_OVERLAPS = ("faces-bodies", "characters-places")  # the t-map overlaps the paper reports


@dataclass(frozen=True)
class CategoryMaps:
    """Per category: unit t-values [N], smoothed t-map, patches and t-value smoothness;
    ``overlaps`` maps "a-b" to the Pearson correlation of the two t-maps (None where a
    map is constant). Beside them, the nulls under image labels permuted across images:
    ``overlap_null`` ("a-b", None where the overlap is) and ``patch_null`` (per category,
    the patch count against the permuted maps' counts); and ``smoothness_null``, each
    category's smoothness against its t-values shuffled across units (same positions).

    The intervals resample images, not sheet tiles (the smoothness bins span the whole IT
    sheet): ``overlap_jackknife`` ("a-b") and ``smoothness_jackknife`` (per category) hold
    each value with each of the :data:`JACKKNIFE_GROUPS` groups of images left out in turn
    (None where a category has too few images or a map is flat). A bootstrap's repeated
    images bias them (its smoothness replicates centred near half the estimate). On planted
    maps at the probe set's scale the intervals covered the truth in 88 of 90 sets (overlaps)
    and 98 of 100 (smoothness); where the maps are mostly noise they are up to 2.5x wider
    than the spread across independent image sets: conservative. ``patch_replicates`` (per
    category) holds the patch count on each of 100 rescaled half-samples of the images
    (:func:`~tdsnn_core.analysis.category.half_sample_t_values`; a count barely moves when a
    group is left out, so no jackknife); its interval covered the median count of
    independent image sets in 748 of 750 planted category maps (208 of 210 where the count
    varies across image sets)."""

    positions: np.ndarray
    categories: tuple[str, ...]
    t_values: dict[str, np.ndarray]
    t_maps: dict[str, TMap]
    patches: dict[str, Patches]
    smoothness: dict[str, Smoothness]
    smoothness_null: dict[str, SmoothnessNull]
    overlaps: dict[str, float | None]
    overlap_null: dict[str, NullComparison | None]
    patch_null: dict[str, NullComparison]
    overlap_jackknife: dict[str, Jackknife | None]
    smoothness_jackknife: dict[str, Jackknife | None]
    patch_replicates: dict[str, np.ndarray]

    def overlap_interval(self, pair: str, level: float = 0.95) -> Interval | None:
        """The overlap "a-b" with its jackknife interval over the images (on Fisher's z)."""
        jackknife = self.overlap_jackknife[pair]
        return None if jackknife is None else jackknife.correlation_interval(level)

    def smoothness_interval(self, category: str, level: float = 0.95) -> Interval | None:
        """A category's smoothness with its jackknife interval over the images."""
        jackknife = self.smoothness_jackknife[category]
        return None if jackknife is None else jackknife.interval(level)

    def patch_count_difference(
        self, other: CategoryMaps, category: str, level: float = 0.95
    ) -> Interval:
        """This map's patch count minus ``other``'s (measured on the same probes, so the same
        half-samples) with its interval over the paired replicates."""
        return count_interval(
            self.patches[category].count - other.patches[category].count,
            self.patch_replicates[category] - other.patch_replicates[category],
            level,
            at_least=None,
        )

    def patch_interval(self, category: str, level: float = 0.95) -> Interval:
        """A category's patch count with its interval over rescaled half-samples of the images
        (:func:`count_interval`)."""
        return count_interval(self.patches[category].count, self.patch_replicates[category], level)


def category_maps(
    positions: np.ndarray,
    rates: np.ndarray,
    labels: np.ndarray,
    categories: tuple[str, ...],
    *,
    sigma_mm: float = 2.4,
    t_threshold: float = 2.0,
    cells_per_side: int = 100,
    n_samples: int = 20,
    sample_size: int = 1000,
    n_permutations: int = 100,
    seed: int = 0,
) -> CategoryMaps:
    """Category selectivity maps of a layer from its rates [n_images, N] to labelled probes,
    with ``n_permutations`` label permutations for the overlap and patch-count nulls, and as
    many unit shuffles for each category's smoothness null.

    Raises ValueError for fewer than 2 categories or when no unit responds to any probe.
    """
    if len(np.unique(labels)) < 2:
        raise ValueError("category maps need probes of at least 2 categories (t is one vs rest)")
    rates = np.asarray(rates, dtype=float)
    if not np.any(rates > 0):
        raise ValueError("no unit of the layer responds to any probe image: no category map")
    t_by_label = welch_t_by_category(rates, labels)
    t_values = {categories[int(label)]: t for label, t in t_by_label.items()}
    t_maps = {
        name: smoothed_t_map(positions, t, sigma_mm=sigma_mm, cells_per_side=cells_per_side)
        for name, t in t_values.items()
    }
    edges = category_distance_bin_edges()
    sampling = {"n_samples": n_samples, "sample_size": sample_size, "seed": seed}
    patches = {name: find_patches(m, t_threshold=t_threshold) for name, m in t_maps.items()}
    overlaps = {
        f"{a}-{b}": _correlation_or_none(t_maps[a], t_maps[b])
        for a, b in itertools.combinations(t_values, 2)
    }
    null = label_permutation_null(
        positions,
        rates,
        labels,
        n_permutations=n_permutations,
        sigma_mm=sigma_mm,
        cells_per_side=cells_per_side,
        t_threshold=t_threshold,
        seed=seed,
    )
    names = [categories[int(label)] for label in null.categories]
    pairs = {f"{a}-{b}": (i, j) for (i, a), (j, b) in itertools.combinations(enumerate(names), 2)}
    null_overlaps = {pair: null.correlations[:, i, j] for pair, (i, j) in pairs.items()}
    smoothness = {
        name: map_smoothness(positions, t, edges, circular_period=None, **sampling)
        for name, t in t_values.items()
    }
    # the pairs of those samples, drawn once: every category's null and jackknife scores them
    unit_pairs = PooledPairs.sampled(as_positions(positions), edges, n_samples, sample_size, seed)
    overlap_jackknife, smoothness_jackknife = dict.fromkeys(overlaps), dict.fromkeys(smoothness)
    t_leave_outs = leave_out_t_values(rates, labels, jackknife_groups(len(labels), seed=seed))
    if t_leave_outs is not None:  # each statistic with each group of images left out
        correlations = overlap_leave_outs(
            positions, t_leave_outs, sigma_mm=sigma_mm, cells_per_side=cells_per_side
        )
        for pair, (i, j) in pairs.items():
            overlap_jackknife[pair] = _jackknife(overlaps[pair], correlations[:, i, j])
        scores = unit_pairs.scores(t_leave_outs.reshape(-1, len(positions)), None)
        scores = scores.reshape(len(t_leave_outs), len(names))
        for k, name in enumerate(names):
            smoothness_jackknife[name] = _jackknife(smoothness[name].score, scores[:, k])
    replicate_counts = patch_counts(
        positions,
        half_sample_t_values(rates, labels, seed=seed),
        sigma_mm=sigma_mm,
        cells_per_side=cells_per_side,
        t_threshold=t_threshold,
    )
    return CategoryMaps(
        positions=positions,
        categories=tuple(t_values),
        t_values=t_values,
        t_maps=t_maps,
        patches=patches,
        smoothness=smoothness,
        smoothness_null={
            name: unit_pairs.null(t, None, n_permutations, seed) for name, t in t_values.items()
        },
        overlaps=overlaps,
        overlap_null={
            pair: None if r is None else NullComparison.of(r, null_overlaps[pair])
            for pair, r in overlaps.items()
        },
        patch_null={
            name: NullComparison.of(patches[name].count, null.patch_counts[:, k])
            for k, name in enumerate(names)
        },
        overlap_jackknife=overlap_jackknife,
        smoothness_jackknife=smoothness_jackknife,
        patch_replicates={name: replicate_counts[:, k] for k, name in enumerate(names)},
    )


def _jackknife(full: float | None, leave_outs: np.ndarray) -> Jackknife | None:
    if full is None or not np.isfinite(full) or not np.all(np.isfinite(leave_outs)):
        return None
    return Jackknife(float(full), leave_outs)


def _correlation_or_none(map_a: TMap, map_b: TMap) -> float | None:
    if np.ptp(map_a.values) == 0 or np.ptp(map_b.values) == 0:
        return None
    return t_map_correlation(map_a, map_b)


def selectivity_peak(maps: CategoryMaps, category: str) -> np.ndarray:
    """Centre (x, y) in mm of a category's selective region: the centroid of its largest
    patch, else the peak of its t-map."""
    patches = maps.patches[category]
    if patches.count:
        return patches.centroids_mm[int(np.argmax(patches.areas_mm2))]
    t_map = maps.t_maps[category]
    iy, ix = np.unravel_index(np.argmax(t_map.values), t_map.values.shape)
    return np.array([t_map.grid.x_centres[ix], t_map.grid.y_centres[iy]])
