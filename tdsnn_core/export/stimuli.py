"""The stimulus sets an export runs: generated gratings, the built-in probe set, or a folder.

Each comes with one :class:`~tdsnn_core.export.nwb.TrialColumn` per stimulus property,
the columns of the NWB trials table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from tdsnn_core.analysis.probes import (
    DEFAULT_PER_CATEGORY,
    ProbeSet,
    default_probe_set,
    load_probe_folder,
)
from tdsnn_core.analysis.stimuli import grating_set
from tdsnn_core.export.nwb import TrialColumn

GRATINGS, PROBES = "gratings", "probes"


@dataclass(frozen=True)
class StimulusSet:
    """Images [N, C, H, W] in [0, 1], a name for the set, and the trial columns."""

    images: torch.Tensor
    name: str
    trials: dict[str, TrialColumn]


def load_stimuli(
    spec: str, input_size: int, channels: int, *, per_category: int = DEFAULT_PER_CATEGORY
) -> StimulusSet:
    """``gratings`` (:func:`~tdsnn_core.analysis.stimuli.grating_set`), ``probes`` (the
    built-in probe set, ``per_category`` images each) or a folder of category subfolders of
    images (every image), sized to the model's input."""
    if spec == GRATINGS:
        return _gratings(input_size, channels)
    if spec == PROBES:
        probes = default_probe_set(input_size, channels, per_category=per_category)
        return StimulusSet(probes.images, "probe images", _probe_columns(probes))
    if not Path(spec).is_dir():
        raise FileNotFoundError(
            f"stimuli {spec!r}: neither {GRATINGS!r}, {PROBES!r} nor a folder of category "
            "subfolders of images"
        )
    probes = load_probe_folder(spec, input_size, channels)
    columns = _probe_columns(probes)
    columns["image_file"] = TrialColumn(
        list(probes.files), "the image file, relative to the folder"
    )
    return StimulusSet(probes.images, f"images of {spec}", columns)


def grating_columns(
    orientation_deg: Sequence[float],
    cycles_per_image: Sequence[float],
    phase_deg: Sequence[float],
    contrast: Sequence[float],
    color: Sequence[str],
) -> dict[str, TrialColumn]:
    """The trial columns of sine gratings (:func:`~tdsnn_core.data.gratings.sine_grating`)."""
    return {
        "orientation_deg": TrialColumn(
            np.asarray(orientation_deg, float), "wave vector direction, deg counter-clockwise"
        ),
        "cycles_per_image": TrialColumn(
            np.asarray(cycles_per_image, float), "spatial frequency, cycles per image width"
        ),
        "phase_deg": TrialColumn(np.asarray(phase_deg, float), "phase of the sine (deg)"),
        "contrast": TrialColumn(np.asarray(contrast, float), "Michelson contrast, 0-1"),
        "color": TrialColumn(list(color), "colour modulation (grey: every channel alike)"),
    }


def _gratings(input_size: int, channels: int) -> StimulusSet:
    bank = grating_set(input_size, channels)
    grids = np.meshgrid(
        bank.orientations_deg,
        bank.frequencies,
        bank.phases_deg,
        np.arange(len(bank.colors)),
        indexing="ij",
    )  # the order of the bank: orientation slowest, colour fastest
    orientation, frequency, phase, color = (grid.ravel() for grid in grids)
    columns = grating_columns(
        orientation,
        frequency,
        phase,
        np.ones(len(orientation)),
        [bank.colors[i] for i in color.astype(int)],
    )
    return StimulusSet(bank.images, "sine gratings", columns)


def _probe_columns(probes: ProbeSet) -> dict[str, TrialColumn]:
    categories = [probes.categories[label] for label in probes.labels]
    columns = {
        "category": TrialColumn(categories, "the probe's category (fLoc-style)"),
        "source_image": TrialColumn(
            np.asarray(probes.sources, np.int64),
            "id of the source image; augmented variants of one image share it",
        ),
    }
    if probes.descriptions:
        columns["category_source"] = TrialColumn(
            [probes.descriptions[name] for name in categories], "what the category's images are"
        )
    return columns
