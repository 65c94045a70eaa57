"""Retinotopic initial unit positions (method.md, "Cortical sheet")."""

from __future__ import annotations

import numpy as np

from tdsnn_core.sheets.areas import area_spec
from tdsnn_core.sheets.sheet import CorticalSheet


def retinotopic_positions(
    dims: tuple[int, int, int],
    size_mm: float,
    downsampling: float,
    rng: np.random.Generator,
    jitter_fraction: float = 0.02,
) -> np.ndarray:
    """Positions [C*H*W, 2] in mm: spatial location (h, w) is an anchor on a regular grid over
    the sheet; the C channels at that anchor scatter uniformly within a disc around it.

    The disc radius is half the anchor spacing times sqrt(downsampling), so deeper layers
    (larger receptive fields) intermix more; Gaussian jitter of ``jitter_fraction`` of the
    spacing breaks ties. A position that would leave the sheet is mirrored back in at the edge
    (:func:`reflect_into_sheet`): that keeps it within its anchor's disc, keeps every unit's
    position distinct and keeps the density at the edges that of the interior (clipping piled
    units on the border: two thirds of a 2 x 2 IT layer).
    """
    c, h, w = dims
    spacing = size_mm / max(h, w)
    ys = (np.arange(h) + 0.5) * size_mm / h
    xs = (np.arange(w) + 0.5) * size_mm / w
    anchor_y, anchor_x = np.meshgrid(ys, xs, indexing="ij")
    anchors = np.stack([anchor_x, anchor_y], axis=-1).reshape(1, h * w, 2)
    radius = 0.5 * spacing * np.sqrt(max(downsampling, 1.0))
    r = radius * np.sqrt(rng.uniform(size=(c, h * w)))
    angle = rng.uniform(0.0, 2 * np.pi, size=(c, h * w))
    offsets = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=-1)
    offsets += rng.normal(scale=jitter_fraction * spacing, size=offsets.shape)
    positions = (anchors + offsets).reshape(c * h * w, 2)
    return reflect_into_sheet(positions, size_mm).astype(np.float32)


def reflect_into_sheet(positions: np.ndarray, size_mm: float) -> np.ndarray:
    """Fold coordinates into [0, size_mm] by mirroring at the edges (as often as needed).

    The fold is 1-Lipschitz and fixes every point of the sheet, so a folded unit is never
    farther from its (in-sheet) anchor than before: it stays inside its receptive-field disc.
    """
    folded = np.mod(positions, 2 * size_mm)
    return np.where(folded > size_mm, 2 * size_mm - folded, folded)


def channel_grid_positions(dims: tuple[int, int, int], size_mm: float) -> np.ndarray:
    """Positions for weight-topography models (TopoLoss): each spatial location owns a tile of
    the sheet, and its C channels sit on the same h x w grid that TopoLoss lays the weights on."""
    c, h, w = dims
    gh, gw = channel_grid_shape(c)
    tile_y, tile_x = size_mm / h, size_mm / w
    ch = np.arange(c)
    cy, cx = (ch // gw + 0.5) / gh, (ch % gw + 0.5) / gw
    hh, ww = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    x = (ww.reshape(1, -1) + cx.reshape(-1, 1)) * tile_x
    y = (hh.reshape(1, -1) + cy.reshape(-1, 1)) * tile_y
    return np.stack([x, y], axis=-1).reshape(c * h * w, 2).astype(np.float32)


def channel_grid_shape(channels: int) -> tuple[int, int]:
    """(h, w) with h * w = channels and h the largest divisor of channels <= sqrt(channels)."""
    h = max(d for d in range(1, int(np.sqrt(channels)) + 1) if channels % d == 0)
    return h, channels // h


def build_sheets(
    layers: list[tuple[str, str, tuple[int, int, int], float]],
    seed: int = 0,
    layout: str = "retinotopic",
) -> dict[str, CorticalSheet]:
    """Sheets for (layer name, area, dims, downsampling) tuples, with initial positions.

    ``layout`` is ``"retinotopic"`` (default, method.md) or ``"channel_grid"`` (TopoLoss).
    """
    if layout not in ("retinotopic", "channel_grid"):
        raise ValueError(f"unknown sheet layout {layout!r}; known: ['channel_grid', 'retinotopic']")
    rng = np.random.default_rng(seed)
    sheets = {}
    for name, area, dims, downsampling in layers:
        spec = area_spec(area)
        if layout == "retinotopic":
            pos = retinotopic_positions(dims, spec.sheet_size_mm, downsampling, rng)
        else:
            pos = channel_grid_positions(dims, spec.sheet_size_mm)
        sheets[name] = CorticalSheet(
            name, area, dims, pos, spec.sheet_size_mm, spec.neighborhood_width_mm
        )
    return sheets
