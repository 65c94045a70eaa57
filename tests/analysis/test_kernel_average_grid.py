"""Sheet grid and normalised Gaussian averaging."""

import numpy as np
import pytest

from tdsnn_core.analysis import SheetGrid, gaussian_average
from tdsnn_core.analysis.grid import local_linear_average


def test_stride_grid_covers_every_unit():
    positions = np.random.default_rng(0).uniform(0, 10, (1_000, 2))
    positions[0] = positions.max(axis=0)
    grid = SheetGrid.from_stride(positions, 0.3)
    assert grid.bin_units(positions).sum() == 1_000
    assert grid.cell_size == pytest.approx((0.3, 0.3))


def test_shape_grid_spans_the_positions():
    positions = np.array([[0.0, 0.0], [70.0, 70.0], [10.0, 60.0]])
    grid = SheetGrid.from_shape(positions, 100)
    assert grid.shape == (100, 100)
    assert grid.extent == (0.0, 70.0, 0.0, 70.0)
    assert grid.cell_area_mm2 == pytest.approx(0.49)
    with pytest.raises(ValueError, match="no area"):
        SheetGrid.from_shape(np.array([[0.0, 1.0], [0.0, 2.0]]), 10)


@pytest.mark.parametrize("n_units", [2_000, 100_000])
def test_average_of_a_linear_field_is_the_field_at_any_density(n_units):
    sigma_mm, side_mm = 2.0, 30.0
    positions = np.random.default_rng(1).uniform(0, side_mm, (n_units, 2))
    grid = SheetGrid.from_stride(positions, 0.5)
    average = gaussian_average(grid, positions, 2.0 * positions[:, 0] - positions[:, 1], sigma_mm)

    x, y = np.meshgrid(grid.x_centres, grid.y_centres)
    interior = (x > 8) & (x < 22) & (y > 8) & (y < 22)
    error = (average - (2 * x - y))[interior]
    # Sampling noise of a kernel mean of 2x - y: its gradient (norm sqrt 5) times the
    # per-axis scatter of the weighted unit centroid, sigma / sqrt(2 n_eff), where
    # n_eff = 4 pi sigma^2 density is the kernel's effective unit count.
    n_effective = 4 * np.pi * sigma_mm**2 * n_units / side_mm**2
    noise = np.sqrt(5) * sigma_mm / np.sqrt(2 * n_effective)
    # Cells closer than a few sigma share units, so the interior holds only a handful of
    # independent estimates: bound the RMS loosely.
    assert abs(error.mean()) < noise
    assert np.sqrt(np.mean(error**2)) < 2.5 * noise


def test_complex_values_and_cells_without_units():
    positions = np.array([[0.0, 0.0], [0.0, 1.0], [20.0, 20.0]])
    grid = SheetGrid.from_stride(positions, 0.5)
    average = gaussian_average(grid, positions, np.array([1j, 1j, 1j]), 0.5)
    assert average.dtype == complex
    reached = average != 0
    np.testing.assert_allclose(average[reached], 1j)
    assert not reached[20, 20]  # 10 mm (20 sigma) from every unit
    with pytest.raises(ValueError, match="sigma_mm"):
        gaussian_average(grid, positions, np.ones(3), 0.0)


def test_box_grid_spans_the_box_exactly():
    grid = SheetGrid.from_box(np.array([1.0, 2.0]), np.array([11.0, 4.5]), 0.3)
    assert grid.extent == pytest.approx((1.0, 11.0, 2.0, 4.5))
    assert max(grid.cell_size) <= 0.3
    positions = np.array([[1.0, 2.0], [11.0, 4.5], [5.0, 3.0]])
    cells = grid.cell_index(positions)
    assert cells[0] == 0 and cells[1] == grid.shape[0] * grid.shape[1] - 1


@pytest.mark.parametrize("n_units", [300, 100_000])
def test_local_linear_average_reproduces_a_linear_field_up_to_the_edge(n_units):
    """Unlike the kernel mean, the local-linear fit has no bias on a linear field, even
    where the kernel is cut by the sheet's edge and at any unit density."""
    positions = np.random.default_rng(2).uniform(0, 30, (n_units, 2))
    grid = SheetGrid.from_box(positions.min(axis=0), positions.max(axis=0), 0.5)
    values = (2.0 - 1.0j) * positions[:, 0] + 0.5j * positions[:, 1]
    x, y = np.meshgrid(grid.x_centres, grid.y_centres)

    fitted = local_linear_average(grid, positions, values, sigma_mm=2.0)
    np.testing.assert_allclose(fitted, (2.0 - 1.0j) * x + 0.5j * y, atol=1e-8)

    edge = (x < 1) | (y < 1)
    kernel_mean = gaussian_average(grid, positions, values.real, 2.0)
    assert np.abs(kernel_mean - 2 * x)[edge].mean() > 0.5  # the mean is pulled inward
