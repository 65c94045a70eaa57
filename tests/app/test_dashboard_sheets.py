"""The dashboard's sheets bin units with the core's one binning, so they agree with the
service's rasters and with a plain 2-D histogram; every sheet has its own tile on the canvas."""

from __future__ import annotations

import numpy as np
import pytest
from bokeh.models import LinearColorMapper, Span

from app.sheets import MAX_CELLS, TILE_PX, SheetCanvas, SheetPlayer, sheet_bins
from backend.encoding import raster

SIZE_MM = 36.75


def layer(name: str, units: int, seed: int, size_mm: float = SIZE_MM) -> dict:
    positions = np.random.default_rng(seed).uniform(0, size_mm, (units, 2)).astype(np.float32)
    positions[:3] = [[0, 0], [size_mm, size_mm], [size_mm, 0]]  # the edges are in the sheet
    return {"name": name, "area": "V1", "size_mm": size_mm, "units": units, "positions": positions}


@pytest.mark.parametrize("units", [40, 3_136, 200_704])
def test_dashboard_counts_equal_the_service_raster_and_a_histogram(units):
    sheet = layer("layer2.0", units, seed=units)
    spikes = np.random.default_rng(1).random((4, units)) < 0.2
    bins = sheet_bins(sheet["positions"], SIZE_MM)
    cells = bins.grid.shape[0]
    assert cells == min(max(round(np.sqrt(units / 3)), 4), MAX_CELLS)
    counts, per_cell = raster(spikes, sheet["positions"], SIZE_MM, cells)
    np.testing.assert_array_equal(bins.counts(spikes), counts)
    np.testing.assert_array_equal(bins.units, per_cell)
    edges = np.linspace(0, SIZE_MM, cells + 1)
    edges[-1] = np.inf  # a unit on the far edge belongs to the last cell
    x, y = sheet["positions"].T.astype(float)
    for step, fired in enumerate(spikes):
        histogram, _, _ = np.histogram2d(y[fired], x[fired], bins=[edges, edges])
        np.testing.assert_array_equal(counts[step], histogram)
    assert per_cell.sum() == units and counts.sum() == spikes.sum()


def test_player_ships_uint8_counts_and_shows_the_current_fraction():
    layers = [layer("layer1.0", 3_136, 0, 2.4), layer("layer4.1", 512, 1, 70.0)]
    player = SheetPlayer(layers=layers, cursor=Span(location=1))
    spikes = {x["name"]: np.random.default_rng(2).random((5, x["units"])) < 0.3 for x in layers}
    player.player.value = 3
    player.show(spikes, 5)
    for i, x in enumerate(layers):
        bins = sheet_bins(x["positions"], x["size_mm"])
        shipped = player.frames.data["counts"][i]
        assert shipped.dtype == np.uint8
        np.testing.assert_array_equal(shipped, bins.counts(spikes[x["name"]]).ravel())
        shown = player.canvas.image.data["image"][i]
        with np.errstate(invalid="ignore"):
            expected = bins.counts(spikes[x["name"]])[2] / bins.units
        np.testing.assert_allclose(shown, expected, equal_nan=True, rtol=1e-6)
    assert player.label.text == "timestep 3 of 5" and player.cursor.location == 3


def test_each_sheet_has_its_own_tile_and_the_disc_lands_on_it():
    layers = [layer(f"layer{i}", 64, i, size_mm=2.4 * (i + 1)) for i in range(6)]
    canvas = SheetCanvas(layers, LinearColorMapper(palette="Inferno256"))
    boxes = []
    for x in layers:
        place = canvas.sheets[x["name"]].placement
        left, bottom = float(place.x(0)), float(place.y(0))
        assert float(place.x(x["size_mm"])) - left == pytest.approx(TILE_PX)
        assert float(place.y(x["size_mm"])) - bottom == pytest.approx(TILE_PX)
        assert left >= 0 and left + TILE_PX <= canvas.figure.x_range.end
        assert bottom >= 0 and bottom + TILE_PX <= canvas.figure.y_range.end
        boxes.append((left, bottom))
    for i, (a, b) in enumerate(boxes):  # tiles never overlap
        for c, d in boxes[i + 1 :]:
            assert abs(a - c) >= TILE_PX or abs(b - d) >= TILE_PX
    canvas.mark_disc("layer2", (3.6, 1.8, 0.72))  # the centre and a tenth of the sheet (7.2 mm)
    place = canvas.sheets["layer2"].placement
    disc = canvas.disc.data
    assert disc["x"] == [pytest.approx(float(place.x0) + TILE_PX / 2)]
    assert disc["y"] == [pytest.approx(float(place.y0) + TILE_PX / 4)]
    assert disc["r"] == [pytest.approx(TILE_PX / 10)] and disc["layer"] == ["layer2"]
    canvas.mark_disc(None, None)
    assert canvas.disc.data["x"] == [] and canvas.disc.data["layer"] == []
