"""Sine gratings: the parametric stimuli of orientation maps, position optimisation and tests."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset


def sine_grating(
    size: int,
    orientation_deg: float,
    cycles_per_image: float,
    phase_deg: float = 0.0,
    contrast: float = 1.0,
    channels: int = 1,
    color: Sequence[float] | None = None,
) -> torch.Tensor:
    """A full-field sine grating [channels, size, size] with values in [0, 1].

    The wave vector points at ``orientation_deg`` counter-clockwise from the image x-axis (y up),
    so the stripes run perpendicular to it; ``color`` (one weight per channel in [0, 1])
    tints the modulation of a colour grating.
    """
    if size < 2 or channels < 1:
        raise ValueError("a grating needs size >= 2 and channels >= 1")
    if not 0.0 <= contrast <= 1.0:
        raise ValueError(f"contrast must be in [0, 1], got {contrast}")
    theta = np.deg2rad(orientation_deg)
    coords = (np.arange(size) + 0.5) / size - 0.5
    x, y = np.meshgrid(coords, -coords)
    wave = np.sin(
        2 * np.pi * cycles_per_image * (x * np.cos(theta) + y * np.sin(theta))
        + np.deg2rad(phase_deg)
    )
    tint = np.ones(channels) if color is None else np.asarray(color, dtype=np.float64)
    if tint.shape != (channels,):
        raise ValueError(f"color needs one weight per channel ({channels}), got {list(tint)}")
    image = 0.5 + 0.5 * contrast * tint[:, None, None] * wave[None]
    return torch.from_numpy(image.astype(np.float32))


def grating_bank(
    size: int,
    orientations: Sequence[float],
    frequencies: Sequence[float],
    phases: Sequence[float],
    channels: int = 1,
) -> tuple[torch.Tensor, dict[str, np.ndarray]]:
    """Every (orientation, frequency, phase) combination: images [N, C, H, W] and their parameters
    (arrays of length N, orientation varying slowest)."""
    combos = list(itertools.product(orientations, frequencies, phases))
    images = torch.stack([sine_grating(size, o, f, p, channels=channels) for o, f, p in combos])
    params = {
        "orientation": np.array([c[0] for c in combos], dtype=np.float64),
        "frequency": np.array([c[1] for c in combos], dtype=np.float64),
        "phase": np.array([c[2] for c in combos], dtype=np.float64),
    }
    return images, params


def default_frequencies(size: int) -> list[float]:
    """Spatial frequencies (cycles per image) from coarse to a third of the Nyquist limit."""
    return [float(f) for f in np.geomspace(2.0, max(size / 6.0, 3.0), 4)]


def grating_classes(classes: int) -> tuple[str, ...]:
    """Names of the orientation classes of :class:`GratingsDataset`: their angles."""
    return tuple(f"{180.0 * k / classes:g} deg" for k in range(classes))


class GratingsDataset(Dataset):
    """Orientation classification: grating i has class i % classes, orientation at that class's
    bin centre, and a random frequency, phase and contrast drawn from (seed, i)."""

    def __init__(self, size: int, channels: int, classes: int, length: int, seed: int = 0) -> None:
        self.size, self.channels, self.num_classes = size, channels, classes
        self.length, self.seed = length, seed
        self.classes = grating_classes(classes)
        self.frequencies = default_frequencies(size)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        rng = np.random.default_rng((self.seed, index))
        label = index % self.num_classes
        image = sine_grating(
            self.size,
            180.0 * label / self.num_classes,
            float(rng.choice(self.frequencies)),
            float(rng.uniform(0, 360)),
            float(rng.uniform(0.5, 1.0)),
            self.channels,
        )
        return image, label
