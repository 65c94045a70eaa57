"""The full analysis of a checkpoint (maps, lesions, temporal dynamics, robustness) and its
report: metrics.json, PNG figures and an index.html, optionally comparing two models.

:func:`analyze_checkpoint` runs every part and keeps going when one cannot be computed
(e.g. an untrained model whose V1 is silent): the part's ValueError message is stored in
``errors`` and in metrics.json instead of its results.
"""

from __future__ import annotations

import html
import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from tdsnn_core.analysis.dimensionality import effective_dimensionality
from tdsnn_core.analysis.lesions import LesionEffect, ReadoutScorer, disc_lesion, lesion_sweep
from tdsnn_core.analysis.maps import (
    CategoryMaps,
    OrientationMap,
    category_maps,
    orientation_map,
    selectivity_peak,
)
from tdsnn_core.analysis.probes import ProbeSet, default_probe_set, load_probe_folder
from tdsnn_core.analysis.robustness import DEFAULT_STRENGTHS, robustness_curves
from tdsnn_core.analysis.stimuli import grating_set
from tdsnn_core.analysis.summary import summary_markdown, summary_rows
from tdsnn_core.analysis.temporal import (
    SpikingStatistics,
    SynchronyCurve,
    fisher_information,
    synchrony_vs_distance,
    timestep_sweep,
)
from tdsnn_core.checkpoints import Checkpoint
from tdsnn_core.models import TopographicSNN
from tdsnn_core.recording import record_rates
from tdsnn_core.sheets.sheet import CorticalSheet

MAX_MODELS = 6
PARTS = (
    "orientation",
    "categories",
    "dimensionality",
    "lesions",
    "temporal",
    "synchrony",
    "fisher",
    "robustness",
)


@dataclass
class AnalysisSettings:
    """What to compute and on how much data (the ``tdsnn analyze`` options).

    ``data``/``root`` default to the checkpoint's training data; ``subset`` labelled test
    images feed accuracy vs T, synchrony and (the first ``robustness_subset``) robustness;
    the first ``fisher_images`` feed Fisher information. Lesion radii are fractions of the
    IT sheet's edge. ``v1_layer``/``it_layer`` default to the first V1 and the last layer.
    """

    data: str | None = None
    root: str | None = None
    subset: int = 256
    probe_root: str | None = None
    probes_per_category: int = 40
    v1_layer: str | None = None
    it_layer: str | None = None
    n_orientations: int = 8
    phases_deg: tuple[float, ...] = (0.0, 90.0, 180.0, 270.0)
    lesion_radius_fraction: float = 0.15
    sweep_radius_fractions: tuple[float, ...] = (0.05, 0.1, 0.2, 0.3)
    timesteps: tuple[int, ...] | None = None
    robustness: dict[str, tuple[float, ...]] = field(
        default_factory=lambda: dict(DEFAULT_STRENGTHS)
    )
    robustness_subset: int = 128
    fisher_images: int = 16
    smoothness_samples: int = 20
    batch_size: int = 64
    seed: int = 0


@dataclass
class ModelAnalysis:
    """Everything computed for one checkpoint; parts that failed are absent and explained in
    ``errors``; ``timings`` holds seconds per part."""

    label: str
    checkpoint: Checkpoint
    probes: ProbeSet | None = None
    orientation: OrientationMap | None = None
    categories: CategoryMaps | None = None
    dimensionality: dict[str, float] | None = None
    lesions: dict[str, LesionEffect] | None = None
    sweep: list[LesionEffect] | None = None
    sweep_category: str | None = None
    temporal: list[SpikingStatistics] | None = None
    synchrony: SynchronyCurve | None = None
    fisher: np.ndarray | None = None
    robustness: dict[str, list[tuple[float, float]]] | None = None
    errors: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def labelled_images(
    ckpt: Checkpoint, settings: AnalysisSettings
) -> tuple[torch.Tensor, np.ndarray]:
    """The first ``settings.subset`` test images of the checkpoint's (or the chosen) data."""
    from tdsnn_core.data import build_dataset

    data_cfg = ckpt.meta.get("train_config", {}).get("data", {})
    kind = settings.data or data_cfg.get("kind", "fashion_mnist")
    root = (
        settings.root
        if settings.root is not None
        else (data_cfg.get("root") if not settings.data else None)
    )
    spec = ckpt.model.config
    dataset = build_dataset(
        kind,
        root,
        "test",
        input_size=spec["input_size"],
        channels=spec["in_channels"],
        num_classes=spec["num_classes"],
        subset=settings.subset,
    )
    images, labels = zip(*(dataset[i] for i in range(len(dataset))), strict=True)
    return torch.stack(images), np.array(labels)


def area_layer(sheets: Mapping[str, CorticalSheet], area: str, last: bool = False) -> str:
    """The first (or ``last``) layer of ``area``; any layer if none is in that area."""
    names = [name for name, sheet in sheets.items() if sheet.area == area] or list(sheets)
    return names[-1] if last else names[0]


def default_layer(ckpt: Checkpoint, chosen: str | None, area: str, last: bool) -> str:
    """``chosen`` if it has a sheet, else :func:`area_layer`."""
    if chosen is None:
        return area_layer(ckpt.sheets, area, last)
    if chosen not in ckpt.sheets:
        raise ValueError(f"layer {chosen!r} has no cortical sheet; known: {list(ckpt.sheets)}")
    return chosen


def layer_orientation_map(
    model: TopographicSNN, sheet: CorticalSheet, settings: AnalysisSettings | None = None
) -> OrientationMap:
    """Orientation map of one sheet's layer, from its rates to drifting-phase gratings sized
    to the model's input."""
    settings = settings or AnalysisSettings()
    spec = model.config
    gratings = grating_set(
        spec["input_size"],
        spec["in_channels"],
        n_orientations=settings.n_orientations,
        phases_deg=settings.phases_deg,
    )
    layer = sheet.layer
    rates = record_rates(model.eval(), gratings.images, [layer], settings.batch_size)[layer]
    return orientation_map(
        sheet.positions,
        rates,
        gratings,
        sheet_edge_mm=sheet.size_mm,
        n_samples=settings.smoothness_samples,
        seed=settings.seed,
    )


def analyze_checkpoint(
    ckpt: Checkpoint,
    settings: AnalysisSettings | None = None,
    *,
    label: str | None = None,
    progress: bool = True,
) -> ModelAnalysis:
    """Run every analysis part on a loaded checkpoint (see the module docstring)."""
    settings = settings or AnalysisSettings()
    model, spec = ckpt.model.eval(), ckpt.model.config
    size, channels = spec["input_size"], spec["in_channels"]
    v1 = default_layer(ckpt, settings.v1_layer, "V1", last=False)
    it = default_layer(ckpt, settings.it_layer, "IT", last=True)
    result = ModelAnalysis(label or ckpt.path.stem, ckpt)
    bs, seed = settings.batch_size, settings.seed
    cache: dict[str, object] = {}

    def probe_rates() -> dict[str, np.ndarray]:
        if "probe_rates" not in cache:
            if settings.probe_root:
                result.probes = load_probe_folder(
                    settings.probe_root, size, channels, per_category=settings.probes_per_category
                )
            else:
                result.probes = default_probe_set(
                    size, channels, seed=seed, per_category=settings.probes_per_category
                )
            cache["probe_rates"] = record_rates(model, result.probes.images, None, bs)
        return cache["probe_rates"]

    def data() -> tuple[torch.Tensor, np.ndarray]:
        if "data" not in cache:
            cache["data"] = labelled_images(ckpt, settings)
        return cache["data"]

    def orientation() -> None:
        result.orientation = layer_orientation_map(model, ckpt.sheets[v1], settings)

    def categories() -> None:
        rates = probe_rates()[it]
        result.categories = category_maps(
            ckpt.sheets[it].positions,
            rates,
            result.probes.labels,
            result.probes.categories,
            n_samples=settings.smoothness_samples,
            seed=seed,
        )

    def dimensionality() -> None:
        result.dimensionality = {
            name: effective_dimensionality(r) for name, r in probe_rates().items()
        }

    def lesions() -> None:
        if result.categories is None:
            raise ValueError("no category map of the IT layer to centre the lesions on")
        sheet = ckpt.sheets[it]
        scorer = ReadoutScorer.fit(model, result.probes, it, bs)
        before = scorer({})
        radius = settings.lesion_radius_fraction * sheet.size_mm
        maps = result.categories
        result.lesions = {
            name: disc_lesion(
                scorer, sheet, selectivity_peak(maps, name), radius, seed=seed, before=before
            )
            for name in maps.categories
        }
        result.sweep_category = maps.categories[0]
        result.sweep = lesion_sweep(
            scorer,
            sheet,
            selectivity_peak(maps, maps.categories[0]),
            [f * sheet.size_mm for f in settings.sweep_radius_fractions],
            seed=seed,
        )

    def temporal() -> None:
        images, labels = data()
        steps = settings.timesteps or sorted(
            {1, max(model.timesteps // 2, 1), model.timesteps, 2 * model.timesteps}
        )
        result.temporal = timestep_sweep(model, images, labels, steps, batch_size=bs, seed=seed)

    def synchrony() -> None:
        result.synchrony = synchrony_vs_distance(
            model, data()[0], ckpt.sheets[v1], batch_size=bs, seed=seed
        )

    def fisher() -> None:
        images, labels = data()
        n = settings.fisher_images
        result.fisher = fisher_information(model, images[:n], labels[:n])

    def robustness() -> None:
        images, labels = data()
        n = settings.robustness_subset
        result.robustness = robustness_curves(
            model, images[:n], labels[:n], settings.robustness, batch_size=bs, seed=seed
        )

    steps: dict[str, Callable[[], None]] = {
        "orientation": orientation,
        "categories": categories,
        "dimensionality": dimensionality,
        "lesions": lesions,
        "temporal": temporal,
        "synchrony": synchrony,
        "fisher": fisher,
        "robustness": robustness,
    }
    bar = tqdm(PARTS, desc=f"analyze {result.label}", disable=not progress)
    for part in bar:
        bar.set_postfix_str(part)
        start = time.perf_counter()
        try:
            steps[part]()
        except ValueError as exc:
            result.errors[part] = str(exc)
        result.timings[part] = time.perf_counter() - start
    return result


# -- metrics ---------------------------------------------------------------------------------
def _clean(value):
    """JSON-ready: numpy to Python, NaN/inf to None."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _lesion_record(effect: LesionEffect, categories: tuple[str, ...]) -> dict:
    return {
        "centre_mm": effect.centre_mm,
        "radius_mm": effect.radius_mm,
        "n_units": effect.n_units,
        **{
            key: dict(zip(categories, getattr(effect, key), strict=True))
            for key in ("before", "after", "control_after")
        },
    }


def analysis_metrics(result: ModelAnalysis) -> dict:
    """The JSON-serialisable metrics of one analysis."""
    ckpt = result.checkpoint
    metrics: dict = {
        "model": {
            "name": ckpt.model.model_name,
            "checkpoint": str(ckpt.path),
            "timesteps": ckpt.model.timesteps,
            "test_top1": ckpt.meta.get("metrics", {}).get("eval_top1"),
        },
        "errors": result.errors,
        "timings_s": result.timings,
    }
    if (om := result.orientation) is not None:
        metrics["orientation"] = {
            "n_units": len(om.analysed),
            "n_responsive": int(om.tuning.responsive.sum()),
            "n_analysed": int(om.analysed.sum()),
            "mean_osi": float(om.tuning.orientation_selectivity[om.analysed].mean()),
            "smoothness": om.smoothness.score,
            "smoothness_curve": {
                "distance_mm": om.smoothness.bin_centres,
                "mean_difference_deg": om.smoothness.mean_curve,
            },
            "pinwheel_count": om.pinwheels.count,
            "pinwheel_density": om.pinwheels.density,
        }
    if result.probes is not None:
        metrics["probes"] = {
            "counts": result.probes.counts(),
            "descriptions": result.probes.descriptions,
        }
    if (cm := result.categories) is not None:
        metrics["categories"] = {
            "per_category": {
                name: {
                    "n_patches": cm.patches[name].count,
                    "patch_areas_mm2": cm.patches[name].areas_mm2,
                    "max_t": float(cm.t_values[name].max()),
                    "smoothness": cm.smoothness[name].score,
                }
                for name in cm.categories
            },
            "overlap": cm.overlaps,
        }
    if result.dimensionality is not None:
        metrics["effective_dimensionality"] = result.dimensionality
    if result.lesions is not None:
        cats = result.categories.categories
        metrics["lesions"] = {
            "layer": next(iter(result.lesions.values())).layer,
            "centred_on": {name: _lesion_record(e, cats) for name, e in result.lesions.items()},
            "sweep": {
                "category": result.sweep_category,
                "lesions": [_lesion_record(e, cats) for e in result.sweep],
            },
        }
    if result.temporal is not None:
        own = next(
            (s for s in result.temporal if s.timesteps == ckpt.model.timesteps), result.temporal[-1]
        )
        metrics["temporal"] = {
            "timesteps": [s.timesteps for s in result.temporal],
            "accuracy": [s.accuracy for s in result.temporal],
            "entropy_bits": {
                layer: [s.entropy_bits[layer] for s in result.temporal]
                for layer in own.entropy_bits
            },
            "rate_per_step": own.rate_per_step,
        }
    if (sc := result.synchrony) is not None:
        metrics["synchrony"] = {
            "layer": sc.layer,
            "distance_mm": sc.bin_centres,
            "mean_r_ccg": sc.mean_r,
            "pairs": sc.pair_counts,
        }
    if result.fisher is not None:
        metrics["fisher_information"] = result.fisher
    if result.robustness is not None:
        metrics["robustness"] = {
            name: {"strength": [s for s, _ in curve], "accuracy": [a for _, a in curve]}
            for name, curve in result.robustness.items()
        }
    return _clean(metrics)


def scalar_metrics(metrics: dict, prefix: str = "") -> dict[str, float]:
    """Flatten the numeric scalars of a metrics dict into "a.b.c" keys (lists excluded)."""
    flat: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and key not in ("errors",):
            flat.update(scalar_metrics(value, name + "."))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            flat[name] = float(value)
    return flat


def metric_differences(first: dict, second: dict) -> list[tuple[str, float, float, float]]:
    """(metric, first, second, second - first) for every scalar both analyses have."""
    a, b = scalar_metrics(first), scalar_metrics(second)
    return [(k, a[k], b[k], b[k] - a[k]) for k in a if k in b and not k.startswith("timings_s")]


# -- report ----------------------------------------------------------------------------------
def write_report(results: list[ModelAnalysis], out_dir: str | Path) -> Path:
    """Write metrics.json, summary.md (the headline table), the figures and index.html for
    up to MAX_MODELS analyses (two get a table of every difference); returns the index path."""
    from tdsnn_core.analysis import figures

    if not 1 <= len(results) <= MAX_MODELS:
        raise ValueError(f"a report shows 1 to {MAX_MODELS} models, got {len(results)}")
    if len({r.label for r in results}) < len(results):
        raise ValueError(
            f"the compared analyses need different labels, got {[r.label for r in results]}"
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    metrics = {r.label: analysis_metrics(r) for r in results}
    document: dict = {"models": metrics}
    if len(results) == 2:
        document["differences"] = [
            {"metric": k, "first": x, "second": y, "difference": d}
            for k, x, y, d in metric_differences(*metrics.values())
        ]
    (out / "metrics.json").write_text(json.dumps(document, indent=2))
    (out / "summary.md").write_text(summary_markdown(metrics))
    images = figures.draw_all(results, out)
    (out / "index.html").write_text(_index_html(results, metrics, document, images))
    return out / "index.html"


def _index_html(
    results: list[ModelAnalysis], metrics: dict, document: dict, images: dict[str, str]
) -> str:
    esc = html.escape
    title = " vs ".join(r.label for r in results)
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>TDSNN analysis: "
        f"{esc(title)}</title><style>body{{font-family:sans-serif;max-width:1200px;"
        f"margin:auto}}img{{max-width:100%}}td,th{{padding:2px 8px;text-align:right}}"
        f"td:first-child{{text-align:left}}</style></head><body>",
        f"<h1>TDSNN analysis: {esc(title)}</h1>",
        "<p>All numbers are in <a href='metrics.json'>metrics.json</a>.</p>",
    ]
    for label, m in metrics.items():
        parts.append(f"<h3>{esc(label)}</h3><p>{esc(m['model']['checkpoint'])}</p>")
        if m.get("probes"):
            items = "".join(
                f"<li>{esc(k)} ({m['probes']['counts'][k]}): {esc(v)}</li>"
                for k, v in m["probes"]["descriptions"].items()
            )
            parts.append(f"<p>Category probes:</p><ul>{items}</ul>" if items else "")
        for part, message in m["errors"].items():
            parts.append(f"<p><b>{esc(part)} not computed:</b> {esc(message)}</p>")
    cells = "".join(f"<th>{esc(label)}</th>" for label in metrics)
    rows = "".join(
        "<tr>" + "".join(f"<td>{esc(cell)}</td>" for cell in row) + "</tr>"
        for row in summary_rows(metrics)
    )
    parts.append(f"<h2>Summary</h2><table><tr><th>metric</th>{cells}</tr>{rows}</table>")
    if "differences" in document:
        a, b = (esc(r.label) for r in results)
        rows = "".join(
            f"<tr><td>{esc(d['metric'])}</td><td>{d['first']:.4g}</td>"
            f"<td>{d['second']:.4g}</td><td>{d['difference']:+.4g}</td></tr>"
            for d in document["differences"]
        )
        parts.append(
            f"<h2>Differences</h2><table><tr><th>metric</th><th>{a}</th><th>{b}</th>"
            f"<th>{b} - {a}</th></tr>{rows}</table>"
        )
    for caption, name in images.items():
        parts.append(f"<h2>{esc(caption)}</h2><img src='{esc(name)}' alt='{esc(caption)}'>")
    parts.append("</body></html>")
    return "\n".join(parts)
