"""The full analysis of a checkpoint: maps, lesions, temporal dynamics and robustness.

:func:`analyze_checkpoint` runs every part and keeps going when one cannot be computed
(e.g. an untrained model whose V1 is silent): the part's ValueError message is stored in
``errors`` instead of its results. Writing the report is :mod:`tdsnn_core.reports`' job.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm import tqdm

from tdsnn_core.analysis.dimensionality import Dimensionality, effective_dimensionality
from tdsnn_core.analysis.maps import CategoryMaps, OrientationMap, selectivity_peak
from tdsnn_core.analysis.probes import (
    DEFAULT_PER_CATEGORY,
    ProbeSet,
    default_probe_set,
    load_probe_folder,
)
from tdsnn_core.checkpoints import Checkpoint
from tdsnn_core.experiments.accuracy import ScoredImages, score_dataset
from tdsnn_core.experiments.layer_maps import (
    checkpoint_dataset,
    default_layer,
    labelled_data,
    layer_orientation_map,
    probe_category_maps,
)
from tdsnn_core.experiments.lesions import (
    LesionEffect,
    ReadoutScorer,
    Score,
    disc_lesion,
    lesion_sweep,
)
from tdsnn_core.experiments.robustness import RobustnessCurve, robustness_curves
from tdsnn_core.experiments.settings import PARTS, AnalysisSettings
from tdsnn_core.experiments.temporal import (
    SpikingStatistics,
    SynchronyCurve,
    fisher_information,
    synchrony_vs_distance,
    timestep_sweep,
)
from tdsnn_core.recording import record_rates
from tdsnn_core.sheets import CorticalSheet


@dataclass
class ModelAnalysis:
    """Everything computed for one checkpoint; parts that failed are absent and explained in
    ``errors``; ``timings`` holds seconds per part. ``image_sources`` is the source image of
    each labelled test image (None: all independent), which intervals over those images
    resample whole. ``areas`` names the layers analysed as V1 and IT."""

    label: str
    checkpoint: Checkpoint
    areas: dict[str, str] = field(default_factory=dict)
    image_sources: np.ndarray | None = None
    top1: ScoredImages | None = None
    probes: ProbeSet | None = None
    orientation: OrientationMap | None = None
    categories: CategoryMaps | None = None
    dimensionality: dict[str, Dimensionality] | None = None
    lesions: dict[str, LesionEffect] | None = None
    sweep: list[LesionEffect] | None = None
    sweep_category: str | None = None
    temporal: list[SpikingStatistics] | None = None
    synchrony: SynchronyCurve | None = None
    fisher: np.ndarray | None = None  # per image and timestep [n_images, T]
    robustness: dict[str, RobustnessCurve] | None = None
    errors: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def sources_of(self, n_images: int) -> np.ndarray | None:
        """The source ids of the ``n_images`` labelled test images a part used (a part that
        uses fewer than all, as robustness does, takes :func:`spread_subset`'s); None when
        they name no sources."""
        if self.image_sources is None:
            return None
        return self.image_sources[spread_subset(len(self.image_sources), n_images)]


def patch_lesion(
    scorer: ReadoutScorer,
    sheet: CorticalSheet,
    maps: CategoryMaps,
    category: str,
    settings: AnalysisSettings,
    before: Score | None = None,
) -> LesionEffect:
    """``tdsnn analyze``'s lesion of ``category``'s patch: a disc of ``lesion_radius_fraction``
    of the sheet's edge at :func:`selectivity_peak`, beside ``lesion_controls`` random lesions."""
    return disc_lesion(
        scorer,
        sheet,
        selectivity_peak(maps, category),
        settings.lesion_radius_fraction * sheet.size_mm,
        seed=settings.seed,
        before=before,
        n_controls=settings.lesion_controls,
    )


def spread_subset(n_total: int, n: int) -> np.ndarray:
    """``n`` indices spread evenly over ``n_total`` (all when n >= n_total): a class-sorted
    test set (an image folder's) gives every class its share, where a prefix would give the
    first classes only."""
    n = min(n, n_total)
    return np.arange(n) * n_total // n


def analyze_checkpoint(
    ckpt: Checkpoint,
    settings: AnalysisSettings | None = None,
    *,
    label: str | None = None,
    parts: Sequence[str] = PARTS,
    progress: bool = True,
) -> ModelAnalysis:
    """Run the analysis ``parts`` (default: every one, in :data:`PARTS`' order) on a loaded
    checkpoint (see the module docstring); a part that needs another's result (lesions need
    the category maps) records an error without it."""
    settings = settings or AnalysisSettings()
    model, spec = ckpt.model.eval(), ckpt.model.config
    size, channels = spec["input_size"], spec["in_channels"]
    v1 = default_layer(ckpt, settings.v1_layer, "V1", last=False)
    it = default_layer(ckpt, settings.it_layer, "IT", last=True)
    result = ModelAnalysis(label or ckpt.path.stem, ckpt, areas={"V1": v1, "IT": it})
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
                    size,
                    channels,
                    seed=seed,
                    per_category=settings.probes_per_category or DEFAULT_PER_CATEGORY,
                )
            cache["probe_rates"] = record_rates(model, result.probes.images, None, bs)
        return cache["probe_rates"]

    def data() -> tuple[torch.Tensor, np.ndarray]:
        if "data" not in cache:
            images, labels, result.image_sources = labelled_data(ckpt, settings)
            cache["data"] = (images, labels)
        return cache["data"]

    def top1() -> None:
        test = checkpoint_dataset(ckpt, "test", settings.data, settings.root, settings.top1_subset)
        result.top1 = score_dataset(model, test, bs)

    def orientation() -> None:
        result.orientation = layer_orientation_map(model, ckpt.sheets[v1], settings)

    def categories() -> None:
        recorded = probe_rates()[it]  # sets result.probes
        result.categories = probe_category_maps(
            ckpt.sheets[it].positions,
            recorded,
            result.probes,
            n_samples=settings.smoothness_samples,
            seed=seed,
        )

    def dimensionality() -> None:
        recorded = probe_rates()  # sets result.probes
        result.dimensionality = {
            name: effective_dimensionality(r, result.probes.sources, seed=seed)
            for name, r in recorded.items()
        }

    def lesions() -> None:
        if result.categories is None:
            raise ValueError("no category map of the IT layer to centre the lesions on")
        sheet = ckpt.sheets[it]
        scorer = ReadoutScorer.fit(model, result.probes, it, bs, intact_rates=probe_rates()[it])
        before = scorer({})
        maps = result.categories
        result.lesions = {
            name: patch_lesion(scorer, sheet, maps, name, settings, before=before)
            for name in maps.categories
        }
        result.sweep_category = maps.categories[0]
        result.sweep = lesion_sweep(
            scorer,
            sheet,
            selectivity_peak(maps, maps.categories[0]),
            [f * sheet.size_mm for f in settings.sweep_radius_fractions],
            seed=seed,
            n_controls=settings.lesion_controls,
        )

    def temporal() -> None:
        images, labels = data()
        steps = settings.timesteps or sorted(
            {1, max(model.timesteps // 2, 1), model.timesteps, 2 * model.timesteps}
        )
        result.temporal = timestep_sweep(model, images, labels, steps, batch_size=bs, seed=seed)

    def synchrony() -> None:
        images = data()[0]  # sets result.image_sources
        result.synchrony = synchrony_vs_distance(
            model, images, ckpt.sheets[v1], batch_size=bs, seed=seed, groups=result.image_sources
        )

    def fisher() -> None:
        images, labels = data()
        chosen = spread_subset(len(images), settings.fisher_images)
        result.fisher = fisher_information(model, images[chosen], labels[chosen])

    def robustness() -> None:
        images, labels = data()
        chosen = spread_subset(len(images), settings.robustness_subset)
        result.robustness = robustness_curves(
            model, images[chosen], labels[chosen], settings.robustness, batch_size=bs, seed=seed
        )

    steps: dict[str, Callable[[], None]] = {
        "top1": top1,
        "orientation": orientation,
        "categories": categories,
        "dimensionality": dimensionality,
        "lesions": lesions,
        "temporal": temporal,
        "synchrony": synchrony,
        "fisher": fisher,
        "robustness": robustness,
    }
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise ValueError(f"unknown analyses {unknown}; known: {', '.join(PARTS)}")
    bar = tqdm(
        [part for part in PARTS if part in parts],
        desc=f"analyze {result.label}",
        disable=not progress,
    )
    for part in bar:
        bar.set_postfix_str(part)
        start = time.perf_counter()
        try:
            steps[part]()
        except ValueError as exc:
            result.errors[part] = str(exc)
        result.timings[part] = time.perf_counter() - start
    return result
