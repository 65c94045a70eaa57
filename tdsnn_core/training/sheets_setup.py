"""The cortical sheets a training run starts from: fresh initial positions or a positions file."""

from __future__ import annotations

from tdsnn_core.config import TopographyConfig
from tdsnn_core.models import TopographicSNN
from tdsnn_core.sheets import CorticalSheet, build_sheets, load_sheets


def initial_sheets(model: TopographicSNN, config: TopographyConfig) -> dict[str, CorticalSheet]:
    """Retinotopic sheets (channel grids for TopoLoss), or the pre-optimised positions file."""
    layers = [(t.name, t.area, t.dims, t.downsampling) for t in model.topographic_layers()]
    layout = "channel_grid" if config.kind == "topoloss" else "retinotopic"
    sheets = build_sheets(layers, seed=config.sheet_seed, layout=layout)
    if config.positions is None:
        return sheets
    given = load_sheets(config.positions)
    for name, sheet in given.items():
        if name not in sheets:
            raise ValueError(
                f"{config.positions}: layer {name!r} is not in the model {list(sheets)}"
            )
        if tuple(sheet.dims) != tuple(sheets[name].dims):
            raise ValueError(
                f"{config.positions}: layer {name!r} has dims {sheet.dims}, "
                f"the model's has {sheets[name].dims}"
            )
        sheets[name] = sheet
    return sheets
