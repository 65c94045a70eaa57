"""Input checks shared by the map metrics."""

from __future__ import annotations

import numpy as np


def as_positions(positions: np.ndarray, *, min_units: int = 2) -> np.ndarray:
    """Return ``positions`` as a float array [N, 2] (mm); raise ValueError if malformed."""
    array = np.asarray(positions, dtype=float)
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"positions must have shape [N, 2], got {array.shape}")
    if len(array) < min_units:
        raise ValueError(f"need at least {min_units} units, got {len(array)}")
    if not np.all(np.isfinite(array)):
        raise ValueError("positions must be finite")
    return array


def as_unit_values(values: np.ndarray, n_units: int, name: str) -> np.ndarray:
    """Return per-unit ``values`` as a float array [n_units]; raise ValueError if malformed."""
    array = np.asarray(values, dtype=float)
    if array.shape != (n_units,):
        raise ValueError(f"{name} must have shape [{n_units}], got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite")
    return array
