"""Grating stimulus sets over orientation, spatial frequency, phase and (for colour models) hue.

A :class:`GratingSet` holds every combination as images [N, C, H, W] in [0, 1] with the
orientation varying slowest, so per-image firing rates [N, n_units] reshape into the
[n_orientations, n_spatial_frequencies, n_phases, N] arrays that :mod:`.tuning` expects.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from tdsnn_core.data.gratings import default_frequencies, sine_grating

# Colour modulations for 3-channel models: luminance and two opponent axes (weights in [-1, 1]).
DEFAULT_COLORS: dict[str, tuple[float, float, float]] = {
    "grey": (1.0, 1.0, 1.0),
    "red-green": (1.0, -1.0, 0.0),
    "blue-yellow": (-0.5, -0.5, 1.0),
}


@dataclass(frozen=True)
class GratingSet:
    """Full-field sine gratings: images [N, C, H, W] for every (orientation, SF, phase, colour)."""

    images: torch.Tensor
    orientations_deg: np.ndarray
    frequencies: np.ndarray
    phases_deg: np.ndarray
    colors: tuple[str, ...]

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """(n_orientations, n_spatial_frequencies, n_phases, n_colors)."""
        return (
            len(self.orientations_deg),
            len(self.frequencies),
            len(self.phases_deg),
            len(self.colors),
        )

    def responses(self, rates: np.ndarray) -> np.ndarray:
        """Per-image rates [N, n_units] -> [n_orientations, n_sf, n_phases, n_units], averaged
        over colours (the layout :func:`~tdsnn_core.analysis.grating_tuning` takes)."""
        return self.responses_by_color(rates).mean(axis=3)

    def responses_by_color(self, rates: np.ndarray) -> np.ndarray:
        """Per-image rates [N, n_units] -> [n_orientations, n_sf, n_phases, n_colors, n_units]."""
        rates = np.asarray(rates, dtype=float)
        if rates.ndim != 2 or len(rates) != len(self.images):
            raise ValueError(
                f"rates must be [{len(self.images)} gratings, n_units], got {rates.shape}"
            )
        return rates.reshape(*self.shape, rates.shape[1])

    def color_curves(self, rates: np.ndarray) -> np.ndarray:
        """Colour tuning curves [n_colors, n_units] (mean over orientation, SF and phase)."""
        return self.responses_by_color(rates).mean(axis=(0, 1, 2))


def grating_set(
    input_size: int,
    channels: int,
    *,
    n_orientations: int = 8,
    frequencies: Sequence[float] | None = None,
    phases_deg: Sequence[float] = (0.0, 90.0, 180.0, 270.0),
    colors: dict[str, Sequence[float]] | None = None,
) -> GratingSet:
    """Gratings sized to a model's input: ``n_orientations`` evenly over [0, 180), the
    spatial frequencies (cycles per image, default :func:`default_frequencies`) and phases.

    Colour models (3 channels) also get the hues of ``colors`` (default
    :data:`DEFAULT_COLORS`); grey models get one luminance grating per condition.
    """
    if n_orientations < 2:
        raise ValueError(f"need at least 2 orientations, got {n_orientations}")
    orientations = np.arange(n_orientations) * 180.0 / n_orientations
    freqs = np.asarray(default_frequencies(input_size) if frequencies is None else frequencies)
    if colors is None:
        colors = DEFAULT_COLORS if channels == 3 else {"grey": (1.0,) * channels}
    tints = {name: _signed_tint(weights, channels, name) for name, weights in colors.items()}
    images = [
        sine_grating(input_size, o, f, p, channels=channels, color=tint)
        for o, f, p in itertools.product(orientations, freqs, phases_deg)
        for tint in tints.values()
    ]
    return GratingSet(
        images=torch.stack(images),
        orientations_deg=orientations,
        frequencies=freqs.astype(float),
        phases_deg=np.asarray(phases_deg, dtype=float),
        colors=tuple(colors),
    )


def _signed_tint(weights: Sequence[float], channels: int, name: str) -> np.ndarray:
    """Colour weights per channel; negative weights modulate a channel in antiphase
    (0.5 + 0.5 * w * wave stays in [0, 1] for |w| <= 1), giving colour-opponent gratings."""
    tint = np.asarray(weights, dtype=float)
    if tint.shape != (channels,) or np.any(np.abs(tint) > 1):
        raise ValueError(f"colour {name!r} needs {channels} weights in [-1, 1], got {list(tint)}")
    return tint
