"""Cortical areas: sheet sizes and loss neighbourhood widths (TDANN's values, in mm)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AreaSpec:
    """Physical size of one cortical area's sheet and its loss neighbourhood width."""

    name: str
    sheet_size_mm: float
    neighborhood_width_mm: float


AREAS: dict[str, AreaSpec] = {
    spec.name: spec
    for spec in (
        AreaSpec("early", 2.4, 0.0475),
        AreaSpec("V1", 36.75, 1.626),
        AreaSpec("V2", 35.0, 3.977),
        AreaSpec("V4", 22.4, 2.545),
        AreaSpec("IT", 70.0, 31.818),
    )
}


def area_spec(name: str) -> AreaSpec:
    """Look up an area by name; unknown names raise a ValueError listing the known ones."""
    try:
        return AREAS[name]
    except KeyError:
        raise ValueError(f"unknown cortical area {name!r}; known: {sorted(AREAS)}") from None
