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


def welch_t(responses: np.ndarray, labels: np.ndarray, category: Hashable) -> np.ndarray:
    """Welch t of each unit's responses to ``category`` against all other images.

    ``responses`` is [n_images, N], ``labels`` [n_images]. Units whose standard error is 0
    (e.g. silent units) get t = 0. Raises ValueError when the category is absent, when
    there is no other category, or when either group has fewer than 2 images.
    """
    responses = np.asarray(responses, dtype=float)
    labels = np.asarray(labels)
    if responses.ndim != 2 or labels.shape != (len(responses),):
        raise ValueError("responses must be [n_images, N] and labels [n_images]")
    inside = labels == category
    groups = (responses[inside], responses[~inside])
    if min(len(group) for group in groups) < 2:
        raise ValueError(
            f"category {category!r} needs at least 2 images and at least 2 of other categories"
        )
    means = [group.mean(axis=0) for group in groups]
    squared_error = sum(group.var(axis=0, ddof=1) / len(group) for group in groups)
    # constant responses leave rounding noise in the variance: below 1e-9 of the scale is zero
    floor = (1e-9 * np.abs(responses).max(axis=0)) ** 2
    return np.divide(
        means[0] - means[1],
        np.sqrt(squared_error),
        out=np.zeros(responses.shape[1]),
        where=squared_error > floor,
    )


def welch_t_by_category(responses: np.ndarray, labels: np.ndarray) -> dict[Hashable, np.ndarray]:
    """``welch_t`` of every category in ``labels`` (sorted), keyed by category."""
    return {
        category: welch_t(responses, labels, category) for category in np.unique(labels).tolist()
    }


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
    a, b = map_a.values.ravel(), map_b.values.ravel()
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        raise ValueError("a constant t-map has no correlation")
    return float(np.corrcoef(a, b)[0, 1])
