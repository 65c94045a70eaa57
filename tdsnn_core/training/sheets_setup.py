"""The cortical sheets a model is trained or analysed on: fresh initial positions, a positions
file, or the sheets of another checkpoint (for a model whose loss never reads positions)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from tdsnn_core.config import TopographyConfig
from tdsnn_core.models import TopographicSNN
from tdsnn_core.sheets import CorticalSheet, build_sheets, load_sheets

SPATIAL_KINDS = ("stc", "tdann", "topoloss")  # losses whose value depends on the positions


def initial_sheets(model: TopographicSNN, config: TopographyConfig) -> dict[str, CorticalSheet]:
    """Retinotopic sheets (channel grids for TopoLoss), or the pre-optimised positions file."""
    layers = [(t.name, t.area, t.dims, t.downsampling) for t in model.topographic_layers()]
    layout = "channel_grid" if config.kind == "topoloss" else "retinotopic"
    sheets = build_sheets(layers, seed=config.sheet_seed, layout=layout)
    if config.positions is None:
        return sheets
    return replace_sheets(sheets, load_sheets(config.positions), str(config.positions))


def replace_sheets(
    sheets: Mapping[str, CorticalSheet], given: Mapping[str, CorticalSheet], source: str
) -> dict[str, CorticalSheet]:
    """``sheets`` with the layers of ``given`` swapped in; layers must exist and match dims."""
    result = dict(sheets)
    for name, sheet in given.items():
        if name not in result:
            raise ValueError(f"{source}: layer {name!r} is not in the model {list(result)}")
        if tuple(sheet.dims) != tuple(result[name].dims):
            raise ValueError(
                f"{source}: layer {name!r} has dims {sheet.dims}, "
                f"the model's has {result[name].dims}"
            )
        result[name] = sheet
    return result


def topography_kind(meta: Mapping) -> str:
    """The topographic loss a checkpoint was trained with ("none" when it records none)."""
    return meta.get("train_config", {}).get("topography", {}).get("kind", "none")


def sheets_differ(
    first: Mapping[str, CorticalSheet], second: Mapping[str, CorticalSheet]
) -> list[str]:
    """Layers present in both whose unit positions are not identical."""
    return [
        name
        for name in first
        if name in second and not np.array_equal(first[name].positions, second[name].positions)
    ]
