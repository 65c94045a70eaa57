"""Maps of one model layer from its recorded responses: the layer an area stands for, the
labelled test images of a checkpoint, and the V1 orientation map to gratings. The service,
the model cards, the sweep and the analysis pipeline all take these recipes from here."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from tdsnn_core.analysis.maps import CategoryMaps, OrientationMap, category_maps, orientation_map
from tdsnn_core.analysis.probes import ProbeSet
from tdsnn_core.analysis.stimuli import grating_set
from tdsnn_core.checkpoints import Checkpoint
from tdsnn_core.experiments.settings import AnalysisSettings
from tdsnn_core.models import TopographicSNN
from tdsnn_core.recording import record_rates
from tdsnn_core.sheets.sheet import CorticalSheet


def checkpoint_data_kind(ckpt: Checkpoint, data: str | None = None) -> str:
    """``data``, or the kind of data the checkpoint was trained on."""
    return data or ckpt.meta.get("train_config", {}).get("data", {}).get("kind", "fashion_mnist")


def checkpoint_dataset(
    ckpt: Checkpoint,
    split: str = "test",
    data: str | None = None,
    root: str | None = None,
    subset: int | None = None,
):
    """The ``split`` of the checkpoint's training data (or of ``data`` at ``root``), shaped and
    cropped for its model as its evaluation during training was (``data.rotate`` included)."""
    from tdsnn_core.data import build_dataset

    data_cfg = ckpt.meta.get("train_config", {}).get("data", {})
    own = not data
    spec = ckpt.model.config
    return build_dataset(
        checkpoint_data_kind(ckpt, data),
        root if root is not None else (data_cfg.get("root") if own else None),
        split,
        input_size=spec["input_size"],
        channels=spec["in_channels"],
        num_classes=spec["num_classes"],
        subset=subset,
        rotate=own and bool(data_cfg.get("rotate", False)),
    )


def labelled_data(
    ckpt: Checkpoint, settings: AnalysisSettings
) -> tuple[torch.Tensor, np.ndarray, np.ndarray | None]:
    """The first ``settings.subset`` test images of the checkpoint's (or the chosen) data,
    spread over an image folder's classes, their labels, and the source image of each (its
    folder's ``sources.json``; None where the data name no sources)."""
    from tdsnn_core.data.sources import dataset_groups

    dataset = checkpoint_dataset(ckpt, "test", settings.data, settings.root, settings.subset)
    return *dataset_tensors(dataset), dataset_groups(dataset)


def probe_category_maps(
    positions: np.ndarray, rates: np.ndarray, probes: ProbeSet, **kwargs
) -> CategoryMaps:
    """Category maps of a layer (unit ``positions``) from its ``rates`` [n_probes, N] to
    ``probes``: the variants of one source image are averaged first, so that a t statistic
    or a permutation null counts independent images, not near-copies (``kwargs`` go to
    :func:`~tdsnn_core.analysis.maps.category_maps`)."""
    per_source, labels = probes.source_means(rates)
    return category_maps(positions, per_source, labels, probes.categories, **kwargs)


def dataset_tensors(dataset) -> tuple[torch.Tensor, np.ndarray]:
    """Every item of a labelled dataset, as (images [N, C, H, W], labels [N])."""
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
