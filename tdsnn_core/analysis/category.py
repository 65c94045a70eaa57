"""Category selectivity maps (IT): Welch t per unit, smoothed t-maps, patches, overlap."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from tdsnn_core.analysis._validation import as_positions, as_unit_values
from tdsnn_core.analysis.grid import SheetGrid, gaussian_average

REFERENCE_SHEET_AREA_MM2 = 70.0**2  # TDANN's VTC sheet, for which patches span 100-4,500 mm^2
REFERENCE_PATCH_AREA_LIMITS_MM2 = (100.0, 4500.0)


def _one_vs_rest_t(
    responses: np.ndarray, members: np.ndarray, outside: np.ndarray | None = None
) -> np.ndarray:
    """Welch t of each unit for each image group against another: responses [n_images, N],
    boolean ``members`` [K, n_images] and ``outside`` [K, n_images] (default: every image
    not a member; each group >= 2 images) -> [K, N], all K groups in a few matrix products.

    Units whose standard error is 0 (e.g. silent units) get t = 0.
    """
    difference, error = _welch_terms(responses, members, outside)
    return _t_of(difference, error)


def _welch_terms(
    responses: np.ndarray, members: np.ndarray, outside: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The mean difference of :func:`_one_vs_rest_t` and its standard error, [K, N] each; the
    error is 0 where it lies below rounding noise (1e-9 of the unit's scale)."""
    # centred per unit, so a constant unit is exactly 0 and the sums below lose no precision
    centred = responses - responses.mean(axis=0)
    members = members.astype(float)
    n_in = members.sum(axis=1, keepdims=True)
    sum_in, squares_in = members @ centred, members @ centred**2
    if outside is None:
        n_out = len(responses) - n_in
        sum_out = centred.sum(axis=0) - sum_in
        squares_out = (centred**2).sum(axis=0) - squares_in
    else:
        outside = outside.astype(float)
        n_out = outside.sum(axis=1, keepdims=True)
        sum_out, squares_out = outside @ centred, outside @ centred**2
    mean_in, mean_out = sum_in / n_in, sum_out / n_out
    var_in = np.maximum(squares_in - n_in * mean_in**2, 0.0) / (n_in - 1)
    var_out = np.maximum(squares_out - n_out * mean_out**2, 0.0) / (n_out - 1)
    squared_error = var_in / n_in + var_out / n_out
    floor = (1e-9 * np.abs(responses).max(axis=0)) ** 2
    return mean_in - mean_out, np.sqrt(np.where(squared_error > floor, squared_error, 0.0))


def _t_of(difference: np.ndarray, error: np.ndarray) -> np.ndarray:
    """difference / error, 0 where the error is."""
    return np.divide(
        difference, error, out=np.zeros(np.broadcast(difference, error).shape), where=error > 0
    )


def _checked_labels(responses: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    responses = np.asarray(responses, dtype=float)
    labels = np.asarray(labels)
    if responses.ndim != 2 or labels.shape != (len(responses),):
        raise ValueError("responses must be [n_images, N] and labels [n_images]")
    return responses, labels


def _require_groups(labels: np.ndarray, category: Hashable) -> None:
    inside = int(np.sum(labels == category))
    if min(inside, len(labels) - inside) < 2:
        raise ValueError(
            f"category {category!r} needs at least 2 images and at least 2 of other categories"
        )


def welch_t(responses: np.ndarray, labels: np.ndarray, category: Hashable) -> np.ndarray:
    """Welch t of each unit's responses to ``category`` against all other images.

    ``responses`` is [n_images, N], ``labels`` [n_images]. Units whose standard error is 0
    (e.g. silent units) get t = 0. Raises ValueError when the category is absent, when
    there is no other category, or when either group has fewer than 2 images.
    """
    responses, labels = _checked_labels(responses, labels)
    _require_groups(labels, category)
    return _one_vs_rest_t(responses, (labels == category)[None])[0]


def welch_t_by_category(responses: np.ndarray, labels: np.ndarray) -> dict[Hashable, np.ndarray]:
    """``welch_t`` of every category in ``labels`` (sorted), keyed by category."""
    responses, labels = _checked_labels(responses, labels)
    categories = np.unique(labels)
    for category in categories.tolist():
        _require_groups(labels, category)
    t = _one_vs_rest_t(responses, labels[None] == categories[:, None])
    return dict(zip(categories.tolist(), t, strict=True))


@dataclass(frozen=True)
class TMap:
    """Unit t-values smoothed onto a grid: ``values`` and ``unit_counts`` are [n_y, n_x]."""

    grid: SheetGrid
    values: np.ndarray
    unit_counts: np.ndarray


def smoothed_t_map(
    positions: np.ndarray, t_values: np.ndarray, *, sigma_mm: float = 2.4, cells_per_side: int = 100
) -> TMap:
    """Normalised Gaussian average (``sigma_mm``) of unit t-values on a grid
    of ``cells_per_side`` x ``cells_per_side`` cells spanning the units' bounding box."""
    positions = as_positions(positions)
    t_values = as_unit_values(t_values, len(positions), "t_values")
    grid = SheetGrid.from_shape(positions, cells_per_side)
    return TMap(
        grid=grid,
        values=gaussian_average(grid, positions, t_values, sigma_mm),
        unit_counts=grid.bin_units(positions),
    )


@dataclass(frozen=True)
class Patches:
    """Category patches of a t-map: ``masks`` [K, n_y, n_x], areas, centroids (x, y), units."""

    masks: np.ndarray
    areas_mm2: np.ndarray
    centroids_mm: np.ndarray
    unit_counts: np.ndarray

    @property
    def count(self) -> int:
        return len(self.masks)


def patch_area_limits(sheet_area_mm2: float) -> tuple[float, float]:
    """TDANN's 100-4,500 mm^2 patch limits scaled by the sheet's area relative to 70 x 70 mm."""
    scale = sheet_area_mm2 / REFERENCE_SHEET_AREA_MM2
    low, high = REFERENCE_PATCH_AREA_LIMITS_MM2
    return low * scale, high * scale


def find_patches(
    t_map: TMap,
    *,
    t_threshold: float = 2.0,
    area_limits_mm2: tuple[float, float] | None = None,
    min_units: int = 10,
) -> Patches:
    """Connected regions (8-neighbour) of the t-map above ``t_threshold``, kept when their
    area lies within ``area_limits_mm2`` (default: ``patch_area_limits`` of the map's
    area, i.e. 100-4,500 mm^2 on a 70 mm sheet) and they contain at least ``min_units``."""
    grid = t_map.grid
    x_min, x_max, y_min, y_max = grid.extent
    low, high = area_limits_mm2 or patch_area_limits((x_max - x_min) * (y_max - y_min))
    labels, n_regions = ndimage.label(t_map.values > t_threshold, structure=np.ones((3, 3)))
    region_ids = np.arange(1, n_regions + 1)
    areas = np.bincount(labels.ravel(), minlength=n_regions + 1)[1:] * grid.cell_area_mm2
    units = np.bincount(labels.ravel(), t_map.unit_counts.ravel(), minlength=n_regions + 1)[1:]
    kept = region_ids[(areas >= low) & (areas <= high) & (units >= min_units)]

    rows_cols = np.array(ndimage.center_of_mass(labels > 0, labels, kept)).reshape(-1, 2)
    dx, dy = grid.cell_size
    centroids = np.column_stack(
        (grid.x_centres[0] + rows_cols[:, 1] * dx, grid.y_centres[0] + rows_cols[:, 0] * dy)
    )
    return Patches(
        masks=labels[None] == kept[:, None, None],
        areas_mm2=areas[kept - 1],
        centroids_mm=centroids,
        unit_counts=units[kept - 1].astype(int),
    )


def t_map_correlation(map_a: TMap, map_b: TMap) -> float:
    """Pearson correlation of two t-maps over their grid cells (e.g. faces vs bodies).

    Raises ValueError if the grids differ in shape or either map is constant.
    """
    if map_a.values.shape != map_b.values.shape:
        raise ValueError("t-maps must share a grid")
    if np.ptp(map_a.values) == 0 or np.ptp(map_b.values) == 0:
        raise ValueError("a constant t-map has no correlation")
    return float(_map_correlations(np.stack([map_a.values, map_b.values]))[0, 1])


def _map_correlations(values: np.ndarray) -> np.ndarray:
    """Pearson between every two maps of ``values`` [K, ...] -> [K, K]; NaN for a constant map."""
    flat = values.reshape(len(values), -1)
    centred = flat - flat.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(centred, axis=1)
    scale = np.divide(1.0, norms, out=np.full_like(norms, np.nan), where=norms > 0)
    unit = centred * scale[:, None]
    return unit @ unit.T


JACKKNIFE_GROUPS = 50  # more leave-outs changed the intervals by nothing measurable


def jackknife_groups(n_images: int, n_groups: int = JACKKNIFE_GROUPS, seed: int = 0) -> np.ndarray:
    """Each image's jackknife group: the images dealt at random into ``n_groups`` groups (each
    image its own where there are fewer)."""
    return np.random.default_rng(seed).permutation(n_images) % min(n_groups, n_images)


def leave_out_t_values(
    responses: np.ndarray, labels: np.ndarray, groups: np.ndarray
) -> np.ndarray | None:
    """The one-vs-rest Welch t of every category (sorted labels) with each group of images
    left out in turn: [n_groups, C, N]. None where a leave-out would keep fewer than 2 images
    of a category or of its rest."""
    responses, labels = _checked_labels(responses, labels)
    in_category = labels[None] == np.unique(labels)[:, None]  # [C, n_images]
    left = np.unique(groups)[:, None] == np.asarray(groups)[None]  # [G, n_images]
    kept_in = in_category.sum(1) - left.astype(int) @ in_category.T  # [G, C]
    kept_out = (~in_category).sum(1) - left.astype(int) @ (~in_category).T
    if min(kept_in.min(), kept_out.min()) < 2:
        return None
    n_groups, n_categories = len(left), len(in_category)
    t = np.empty((n_groups, n_categories, responses.shape[1]))
    chunk = max(1, 2_000_000 // (n_categories * responses.shape[1]))
    for start in range(0, n_groups, chunk):
        kept = ~left[start : start + chunk, None]  # [m, 1, n_images]
        inside = (kept & in_category[None]).reshape(-1, len(labels))
        outside = (kept & ~in_category[None]).reshape(-1, len(labels))
        t[start : start + chunk] = _one_vs_rest_t(responses, inside, outside).reshape(
            -1, n_categories, responses.shape[1]
        )
    return t


def overlap_leave_outs(
    positions: np.ndarray,
    t_leave_outs: np.ndarray,
    *,
    sigma_mm: float = 2.4,
    cells_per_side: int = 100,
) -> np.ndarray:
    """The Pearson of every two categories' t-maps for each leave-out's t-values [G, C, N]
    (:func:`leave_out_t_values`): [G, C, C]."""
    _, maps = _smoothed_stack(as_positions(positions), t_leave_outs, sigma_mm, cells_per_side)
    return np.stack([_map_correlations(of_leave_out) for of_leave_out in maps])


HALF_SAMPLES = 100  # replicates of the patch counts' interval


def half_sample_weights(labels: np.ndarray, n_replicates: int, seed: int = 0) -> np.ndarray:
    """Rao and Wu's rescaled half-samples, as weights on the images [n_replicates, n_images].

    In each replicate every category keeps a random half (m = n // 2 of its n images, none
    repeated), and its mean moves from the full sample's by that half's deviation scaled by
    sqrt(m / (n - m)): the replicate means then scatter about the observed mean exactly as
    much as the observed mean scatters about the truth (variance s^2 / n), for any n >= 2.
    Each category's weights sum to n.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    weights = np.empty((n_replicates, len(labels)))
    for category in np.unique(labels):
        members = np.flatnonzero(labels == category)
        n, m = len(members), len(members) // 2
        if m < 1:
            raise ValueError(f"category {category!r} needs at least 2 images to be halved")
        kept = rng.random((n_replicates, n)).argsort(axis=1) < m  # m random images a row
        weights[:, members] = 1 + np.sqrt(m / (n - m)) * (np.where(kept, n / m, 0.0) - 1)
    return weights


def half_sample_t_values(
    responses: np.ndarray, labels: np.ndarray, n_replicates: int = HALF_SAMPLES, seed: int = 0
) -> np.ndarray:
    """The one-vs-rest Welch t of every category (sorted labels) on rescaled half-samples of
    the images (:func:`half_sample_weights`): [n_replicates, C, N]. The mean differences
    are the replicate's, the standard errors the full sample's, so each replicate t-map
    differs from the observed one as the observed one differs from the truth."""
    responses, labels = _checked_labels(responses, labels)
    categories = np.unique(labels)
    for category in categories.tolist():
        _require_groups(labels, category)
    in_category = labels[None] == categories[:, None]  # [C, n_images]
    _, error = _welch_terms(responses, in_category)
    weights = half_sample_weights(labels, n_replicates, seed)
    centred = responses - responses.mean(axis=0)
    n_in = in_category.sum(axis=1)[:, None]
    n_out = len(labels) - n_in
    t = np.empty((n_replicates, len(categories), responses.shape[1]))
    chunk = max(1, 2_000_000 // (len(categories) * responses.shape[1]))
    for start in range(0, n_replicates, chunk):
        w = weights[start : start + chunk]
        total = w @ centred  # [m, N]
        inside = (w[:, None] * in_category[None]).reshape(-1, len(labels)) @ centred
        inside = inside.reshape(len(w), len(categories), -1)
        difference = inside / n_in - (total[:, None] - inside) / n_out
        t[start : start + chunk] = _t_of(difference, error)
    return t


def _smoothed_stack(
    positions: np.ndarray, t_values: np.ndarray, sigma_mm: float, cells_per_side: int
) -> tuple[SheetGrid, np.ndarray]:
    """The grid and the smoothed t-map of every t-value vector of ``t_values`` [..., N]:
    [..., n_y, n_x]."""
    grid = SheetGrid.from_shape(positions, cells_per_side)
    flat = t_values.reshape(-1, t_values.shape[-1])
    maps = np.stack([gaussian_average(grid, positions, v, sigma_mm) for v in flat])
    return grid, maps.reshape(*t_values.shape[:-1], *grid.shape)


def patch_counts(
    positions: np.ndarray,
    t_values: np.ndarray,
    *,
    sigma_mm: float = 2.4,
    cells_per_side: int = 100,
    t_threshold: float = 2.0,
) -> np.ndarray:
    """The patch count (:func:`find_patches` defaults) of the t-map of every t-value vector
    of ``t_values`` [..., N] (e.g. half-sample replicates [R, C, N]): int [...]."""
    positions = as_positions(positions)
    grid, maps = _smoothed_stack(positions, np.asarray(t_values), sigma_mm, cells_per_side)
    return _count_patches(grid, maps, grid.bin_units(positions), t_threshold)


def _count_patches(
    grid: SheetGrid, maps: np.ndarray, unit_counts: np.ndarray, t_threshold: float
) -> np.ndarray:
    """The patch count of every t-map of ``maps`` [..., n_y, n_x] on ``grid``: int [...]."""
    counts = [
        find_patches(TMap(grid, m, unit_counts), t_threshold=t_threshold).count
        for m in maps.reshape(-1, *grid.shape)
    ]
    return np.array(counts, dtype=int).reshape(maps.shape[:-2])


@dataclass(frozen=True)
class LabelPermutationNull:
    """The t-maps under image labels permuted across images (category sizes kept).

    ``categories`` are the sorted labels; per permutation, ``correlations``
    [n_permutations, C, C] holds the Pearson of every two categories' t-maps (NaN where a
    map is constant) and ``patch_counts`` [n_permutations, C] each category's patch count.
    """

    categories: tuple[Hashable, ...]
    correlations: np.ndarray
    patch_counts: np.ndarray


def label_permutation_null(
    positions: np.ndarray,
    responses: np.ndarray,
    labels: np.ndarray,
    *,
    n_permutations: int = 100,
    sigma_mm: float = 2.4,
    cells_per_side: int = 100,
    t_threshold: float = 2.0,
    seed: int = 0,
) -> LabelPermutationNull:
    """Recompute the one-vs-rest Welch t (all permutations in one matrix product per chunk),
    the smoothed t-maps, their pairwise Pearson and the patch counts (``find_patches``
    defaults) with ``labels`` permuted across images ``n_permutations`` times.

    One-vs-rest t-maps anti-correlate by construction (a unit selective for one category
    lowers the others' t); this null says how much.
    """
    positions = as_positions(positions)
    responses, labels = _checked_labels(responses, labels)
    if responses.shape[1] != len(positions):
        raise ValueError("responses need one column per unit position")
    categories = np.unique(labels)
    for category in categories.tolist():
        _require_groups(labels, category)
    rng = np.random.default_rng(seed)
    unit_counts = SheetGrid.from_shape(positions, cells_per_side).bin_units(positions)
    n_categories = len(categories)
    chunk = max(1, 4_000_000 // (n_categories * responses.shape[1]))
    correlations = np.empty((n_permutations, n_categories, n_categories))
    counts = np.empty((n_permutations, n_categories), dtype=int)
    for start in range(0, n_permutations, chunk):
        permuted = np.stack(
            [rng.permutation(labels) for _ in range(min(chunk, n_permutations - start))]
        )
        members = permuted[:, None, :] == categories[None, :, None]  # [P, C, n_images]
        t = _one_vs_rest_t(responses, members.reshape(-1, len(labels)))
        t = t.reshape(len(permuted), n_categories, -1)
        grid, maps = _smoothed_stack(positions, t, sigma_mm, cells_per_side)  # [P, C, n_y, n_x]
        done = slice(start, start + len(permuted))
        correlations[done] = [_map_correlations(of_permutation) for of_permutation in maps]
        counts[done] = _count_patches(grid, maps, unit_counts, t_threshold)
    return LabelPermutationNull(tuple(categories.tolist()), correlations, counts)
