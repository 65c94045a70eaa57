"""Cortical sheets: unit positions per topographic layer, their initialisation and optimisation."""

from tdsnn_core.sheets.areas import AREAS, AreaSpec, area_spec
from tdsnn_core.sheets.retinotopic import build_sheets, channel_grid_shape
from tdsnn_core.sheets.sheet import CorticalSheet, load_sheets, save_sheets

__all__ = [
    "AREAS",
    "AreaSpec",
    "CorticalSheet",
    "area_spec",
    "build_sheets",
    "channel_grid_shape",
    "load_sheets",
    "save_sheets",
]
