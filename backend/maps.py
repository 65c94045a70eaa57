"""Selectivity maps of a served model, computed once per (model, layer) and cached.

orientation and pinwheels come from one orientation map of a V1 layer (gratings, as in
``tdsnn analyze``); category and patches from one category map of an IT layer (the
category probe set). A map that cannot be computed (e.g. a silent layer) is a 409.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from backend import schemas
from backend.errors import ApiError
from backend.registry import ModelEntry
from tdsnn_core.analysis import (
    CategoryMaps,
    OrientationMap,
    ProbeSet,
    default_probe_set,
)
from tdsnn_core.analysis.grid import SheetGrid
from tdsnn_core.analysis.intervals import Interval
from tdsnn_core.analysis.nulls import NullComparison
from tdsnn_core.experiments import area_layer, layer_orientation_map, probe_category_maps
from tdsnn_core.recording import record_rates

MapKind = Literal["orientation", "pinwheels", "category", "patches"]
SOURCE = {"orientation": "V1", "pinwheels": "V1", "category": "IT", "patches": "IT"}


def map_layer(entry: ModelEntry, kind: MapKind, layer: str | None) -> str:
    """The checked layer of map ``kind``: ``layer``, or the first V1 (last IT) layer."""
    area = SOURCE[kind]
    layer = layer or area_layer(entry.sheets, area, last=area == "IT")
    entry.sheet(layer, "query.layer")
    return layer


def map_payload(entry: ModelEntry, kind: MapKind, layer: str, probes_per_category: int):
    """The response model of map ``kind`` of a checked ``layer`` (computed on first use; run
    on the model's analysis lane). A map the layer cannot give is a 409."""
    area = SOURCE[kind]
    key = (area, layer)
    if key not in entry.cache:
        try:
            if area == "V1":
                entry.cache[key] = layer_orientation_map(entry.analysis_model, entry.sheets[layer])
            else:
                entry.cache[key] = _categories(entry, layer, probes_per_category)
        except ValueError as exc:
            entry.cache[key] = exc
    result = entry.cache[key]
    if isinstance(result, ValueError):
        raise ApiError(409, f"no {kind} map for layer {layer!r}: {result}", field="query.layer")
    if kind == "category":
        return _category_out(layer, result, entry.cache["probes"].descriptions)
    return BUILDERS[kind](layer, result)


def probe_set(entry: ModelEntry, per_category: int) -> ProbeSet:
    """The default category probe set at the model's input size (cached; on the lane)."""
    if "probes" not in entry.cache:
        config = entry.model.config
        entry.cache["probes"] = default_probe_set(
            config["input_size"], config["in_channels"], per_category=per_category
        )
    return entry.cache["probes"]


def _categories(entry: ModelEntry, layer: str, per_category: int) -> CategoryMaps:
    probes = probe_set(entry, per_category)
    rates = record_rates(entry.analysis_model, probes.images, [layer])[layer]
    return probe_category_maps(entry.sheets[layer].positions, rates, probes)


def _finite(values):
    """Floats (or nested lists of them) with NaN and inf as None."""
    array = np.asarray(values, dtype=float)
    return np.where(np.isfinite(array), array, None).tolist()


def _grid(grid: SheetGrid, values: np.ndarray) -> schemas.Grid:
    return schemas.Grid(extent_mm=[float(v) for v in grid.extent], values=_finite(values))


def _orientation_out(layer: str, m: OrientationMap) -> schemas.OrientationMapOut:
    return schemas.OrientationMapOut(
        layer=layer,
        preferred_orientation_deg=_finite(m.tuning.preferred_orientation_deg),
        orientation_selectivity=_finite(m.tuning.orientation_selectivity),
        analysed_units=np.flatnonzero(m.analysed).tolist(),
        smoothness=_smoothness_out(m),
        orientation_bins=schemas.OrientationBins(
            fractions=m.diversity.fractions.tolist(),
            intervals=(
                None
                if m.diversity.fraction_intervals is None
                else m.diversity.fraction_intervals.tolist()
            ),
        ),
    )


def _smoothness_out(m: OrientationMap) -> schemas.Smoothness:
    return schemas.Smoothness(
        score=_finite(m.smoothness.score),
        interval=_finite_pair(m.smoothness_interval.bounds),
        null_percentile=_finite(m.smoothness_null.score.percentile),
        null_interval=_finite_pair(m.smoothness_null.score.interval),
        bin_centres_mm=m.smoothness.bin_centres.tolist(),
        mean_curve=_finite(m.smoothness.mean_curve),
    )


def _finite_pair(bounds) -> list[float] | None:
    """An interval's [low, high], None unless both are finite."""
    return [float(b) for b in bounds] if np.isfinite(bounds).all() else None


def _pinwheels_out(layer: str, m: OrientationMap) -> schemas.PinwheelsOut:
    p = m.pinwheels
    return schemas.PinwheelsOut(
        layer=layer,
        count=p.count,
        resolvable=p.resolvable,
        reason=p.reason,
        column_spacing_mm=_finite(p.column_spacing_mm),
        column_spacing_interval=(
            None if p.column_spacing_interval is None else p.column_spacing_interval.bounds
        ),
        density=_finite(p.density),
        density_interval=None if p.density_interval is None else p.density_interval.bounds,
        smoothness=_smoothness_out(m),
        null_resolvable_fraction=m.pinwheel_null.resolvable_fraction,
        centres_mm=np.asarray(p.centres_mm, dtype=float).reshape(-1, 2).tolist(),
        signs=np.asarray(p.signs, dtype=int).tolist(),
        orientation_field=_grid(p.field.grid, p.field.orientation_deg),
    )


def _category_out(
    layer: str, m: CategoryMaps, descriptions: dict[str, str]
) -> schemas.CategoryMapOut:
    return schemas.CategoryMapOut(
        layer=layer,
        categories=list(m.categories),
        descriptions=dict(descriptions),
        t_values={c: _finite(t) for c, t in m.t_values.items()},
        t_maps={c: _grid(t.grid, t.values) for c, t in m.t_maps.items()},
        overlaps={k: _finite(v if v is not None else np.nan) for k, v in m.overlaps.items()},
        overlap_null={k: _null_out(n) if n else None for k, n in m.overlap_null.items()},
        overlap_interval={
            k: _finite_pair(i.bounds) if (i := m.overlap_interval(k)) else None for k in m.overlaps
        },
        smoothness={c: _null_out(n.score) for c, n in m.smoothness_null.items()},
        smoothness_interval={c: _interval_out(m.smoothness_interval(c)) for c in m.categories},
    )


def _interval_out(interval: Interval | None) -> list | None:
    return None if interval is None else _finite_pair(interval.bounds)


def _null_out(comparison: NullComparison) -> schemas.NullOut:
    return schemas.NullOut(
        observed=_finite(comparison.observed),
        null_mean=_finite(comparison.mean),
        null_interval=_finite_pair(comparison.interval),
        percentile=_finite(comparison.percentile),
        p_greater=_finite(comparison.p_greater),
    )


def _patches_out(layer: str, m: CategoryMaps) -> schemas.PatchesOut:
    patches, labels = {}, {}
    for category, p in m.patches.items():
        patches[category] = [
            schemas.Patch(area_mm2=float(a), centroid_mm=[float(c[0]), float(c[1])], units=int(u))
            for a, c, u in zip(p.areas_mm2, p.centroids_mm, p.unit_counts, strict=True)
        ]
        label_image = (np.arange(1, p.count + 1)[:, None, None] * p.masks).sum(axis=0)
        labels[category] = _grid(m.t_maps[category].grid, label_image)
    return schemas.PatchesOut(
        layer=layer,
        patches=patches,
        labels=labels,
        patch_null={c: _null_out(n) for c, n in m.patch_null.items()},
        patch_interval={c: m.patch_interval(c).bounds for c in m.categories},
    )


BUILDERS = {
    "orientation": _orientation_out,
    "pinwheels": _pinwheels_out,
    "patches": _patches_out,
}
