"""Cortical sheets: retinotopic initial positions, records and their files."""

from __future__ import annotations

import numpy as np
import pytest

from tdsnn_core.models import create_model, list_models
from tdsnn_core.sheets import AREAS, build_sheets, channel_grid_shape, load_sheets, save_sheets
from tdsnn_core.storage import CheckpointError

LAYERS = [("layer2.0", "V1", (8, 6, 6), 2.0), ("layer4.0", "IT", (16, 2, 2), 8.0)]


def test_retinotopic_positions_follow_the_spatial_grid() -> None:
    sheets = build_sheets(LAYERS, seed=0)
    v1 = sheets["layer2.0"]
    assert v1.size_mm == AREAS["V1"].sheet_size_mm and v1.neighborhood_width_mm == 1.626
    pos = v1.positions.reshape(8, 6, 6, 2)
    assert (v1.positions >= 0).all() and (v1.positions <= v1.size_mm).all()
    centre_x = pos[..., 0].mean(axis=(0, 1))  # mean x of each column w
    centre_y = pos[..., 1].mean(axis=(0, 2))  # mean y of each row h
    assert np.all(np.diff(centre_x) > 0) and np.all(np.diff(centre_y) > 0)
    spacing = v1.size_mm / 6
    assert np.allclose(centre_x, (np.arange(6) + 0.5) * spacing, atol=0.35 * spacing)


def test_deeper_layers_scatter_channels_more() -> None:
    sheets = build_sheets(LAYERS, seed=0)

    def relative_scatter(name: str) -> float:
        s = sheets[name]
        c, h, w = s.dims
        pos = s.positions.reshape(c, h * w, 2)
        return float(np.linalg.norm(pos - pos.mean(0), axis=-1).mean() / (s.size_mm / h))

    assert relative_scatter("layer4.0") > relative_scatter("layer2.0")


def test_channel_grid_layout() -> None:
    assert channel_grid_shape(32) == (4, 8) and channel_grid_shape(36) == (6, 6)
    sheet = build_sheets(LAYERS, layout="channel_grid")["layer4.0"]
    assert len(np.unique(sheet.positions.round(4), axis=0)) == sheet.num_units


def test_sheet_file_round_trip_and_errors(tmp_path) -> None:
    sheets = build_sheets(LAYERS, seed=3)
    save_sheets(tmp_path / "pos.safetensors", sheets)
    loaded = load_sheets(tmp_path / "pos.safetensors")
    assert list(loaded) == list(sheets)
    for name, sheet in sheets.items():
        assert loaded[name].record() == sheet.record()
        np.testing.assert_array_equal(loaded[name].positions, sheet.positions)
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 40)
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        load_sheets(tmp_path / "junk.safetensors")
    with pytest.raises(CheckpointError, match="no such file"):
        load_sheets(tmp_path / "missing.safetensors")
    with pytest.raises(ValueError, match="unknown cortical area"):
        build_sheets([("x", "V9", (1, 2, 2), 1.0)])


@pytest.mark.parametrize("model_name", list_models())
def test_every_unit_gets_a_distinct_position_inside_the_sheet(model_name: str) -> None:
    """Clipping piled 68 % of sresnet_mini's IT units on the border; mirroring at the edges
    keeps the units within 1 % of the edge at about that strip's share of the area."""
    model = create_model(model_name)
    layers = [(t.name, t.area, t.dims, t.downsampling) for t in model.topographic_layers()]
    strip = 1 - 0.98**2  # area fraction of the band within 1 % of the edge
    for name, sheet in build_sheets(layers).items():
        p, size = sheet.positions, sheet.size_mm
        assert (p > 0).all() and (p < size).all(), name
        assert len(np.unique(p, axis=0)) == sheet.num_units, name
        near_edge = ((p < 0.01 * size) | (p > 0.99 * size)).any(axis=1).mean()
        tolerance = 4 * np.sqrt(strip * (1 - strip) / sheet.num_units) + 0.005
        assert abs(near_edge - strip) < tolerance, (name, near_edge)
