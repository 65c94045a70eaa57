"""The one binning of units onto sheet cells (``SheetBins`` on ``SheetGrid.square``)."""

from __future__ import annotations

import numpy as np
import pytest

from tdsnn_core.analysis.grid import SheetBins, SheetGrid


def test_units_land_in_their_cells_edges_included():
    positions = np.array([[0.0, 0.0], [9.99, 0.0], [10.0, 10.0], [5.0, 2.6], [2.4, 7.6]])
    bins = SheetBins.of(SheetGrid.square(10.0, 4), positions)  # cells of 2.5 mm
    # flat index row * 4 + column, rows follow y; the far edge belongs to the last cell
    assert bins.cell_of_unit.tolist() == [0, 3, 15, 1 * 4 + 2, 3 * 4 + 0]
    assert bins.units.shape == (4, 4) and bins.units.sum() == 5 and bins.units[0, 0] == 1


def test_counts_are_spikes_per_cell_per_timestep():
    rng = np.random.default_rng(0)
    positions = rng.uniform(0, 70, (2_000, 2))
    spikes = rng.random((3, 2_000)) < 0.25
    bins = SheetBins.of(SheetGrid.square(70.0, 9), positions)
    counts = bins.counts(spikes)
    assert counts.shape == (3, 9, 9)
    for t in range(3):
        expected = np.bincount(bins.cell_of_unit[spikes[t]], minlength=81).reshape(9, 9)
        np.testing.assert_array_equal(counts[t], expected)
    assert np.all(counts <= bins.units)


@pytest.mark.parametrize(("size", "cells"), [(0.0, 4), (10.0, 0)])
def test_a_square_grid_needs_a_sheet_and_a_cell(size, cells):
    with pytest.raises(ValueError, match="size_mm"):
        SheetGrid.square(size, cells)
