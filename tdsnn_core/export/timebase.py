"""The length of one model timestep in exported files (kept apart from the NWB writer so that
the ``tdsnn`` parser does not import pynwb)."""

from __future__ import annotations

import math

DEFAULT_DT_MS = 1.0


def check_dt(dt_ms: float) -> None:
    """A timestep's length must be a positive, finite number of milliseconds."""
    if not math.isfinite(dt_ms) or dt_ms <= 0:
        raise ValueError(f"dt must be a positive number of milliseconds, got {dt_ms}")
