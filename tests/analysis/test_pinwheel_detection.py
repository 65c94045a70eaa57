"""Pinwheel detector on maps whose singularities are placed by construction."""

import numpy as np
import pytest

from tdsnn_core.analysis import detect_pinwheels, doubled_angle_winding

SHEET_EDGE_MM = 36.75
# (x, y, charge): +1 where orientation turns +180 degrees counterclockwise around the point.
PLACED_PINWHEELS = np.array(
    [
        (8, 8, 1),
        (18, 9, -1),
        (29, 8, 1),
        (9, 19, -1),
        (20, 19, 1),
        (28, 20, -1),
        (8, 29, 1),
        (19, 28, -1),
        (29, 29, 1),
    ],
    dtype=float,
)


def point_charge_orientations(positions: np.ndarray, pinwheels: np.ndarray) -> np.ndarray:
    """theta = 0.5 * arg(prod (z - z_k)^s_k), in degrees [0, 180)."""
    z = positions[:, 0] + 1j * positions[:, 1]
    centres = pinwheels[:, 0] + 1j * pinwheels[:, 1]
    doubled_angle = (pinwheels[:, 2] * np.angle(z[:, None] - centres[None, :])).sum(axis=1)
    return np.rad2deg(doubled_angle / 2) % 180.0


def random_positions(n_units: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, SHEET_EDGE_MM, (n_units, 2))


def nearest_distances(found: np.ndarray, placed: np.ndarray) -> np.ndarray:
    return np.linalg.norm(found[:, None, :] - placed[None, :, :2], axis=2).min(axis=0)


def test_ideal_pinwheel_winds_exactly_one_doubled_turn():
    x, y = np.meshgrid(np.arange(10.0), np.arange(8.0))
    z = (x - 4.3) + 1j * (y - 5.6)
    for doubled_angle_field, expected in ((z / abs(z), 1), (np.conj(z) / abs(z), -1)):
        winding = doubled_angle_winding(doubled_angle_field)
        assert winding[5, 4] == expected
        assert np.count_nonzero(winding) == 1


@pytest.mark.parametrize(("n_units", "tolerance_mm"), [(2_000, 1.0), (20_000, 0.5), (100_000, 0.5)])
def test_finds_every_placed_pinwheel_at_any_density(n_units, tolerance_mm):
    positions = random_positions(n_units, seed=n_units)
    orientations = point_charge_orientations(positions, PLACED_PINWHEELS)

    found = detect_pinwheels(positions, orientations, sigma_mm=1.5)

    assert found.count == len(PLACED_PINWHEELS)
    assert np.all(nearest_distances(found.centres_mm, PLACED_PINWHEELS) < tolerance_mm)
    order = np.argmin(
        np.linalg.norm(found.centres_mm[:, None] - PLACED_PINWHEELS[None, :, :2], axis=2), axis=0
    )
    np.testing.assert_array_equal(found.signs[order], PLACED_PINWHEELS[:, 2])


@pytest.mark.parametrize("n_units", [2_000, 20_000, 100_000])
@pytest.mark.parametrize("sigma_mm", [None, 1.5])
def test_shuffled_map_has_no_pinwheels(n_units, sigma_mm):
    positions = random_positions(n_units, seed=1)
    orientations = point_charge_orientations(positions, PLACED_PINWHEELS)
    shuffled = np.random.default_rng(2).permutation(orientations)

    assert detect_pinwheels(positions, shuffled, sigma_mm=sigma_mm).count == 0


@pytest.mark.parametrize("n_units", [20_000, 100_000])
def test_default_parameters_resolve_a_dense_model_scale_map(n_units):
    rng = np.random.default_rng(3)
    lattice = np.arange(3.0, 35.0, 3.0)
    pinwheels = np.array(
        [
            (x + rng.uniform(-0.5, 0.5), y + rng.uniform(-0.5, 0.5), (-1) ** (i + j))
            for i, x in enumerate(lattice)
            for j, y in enumerate(lattice)
        ]
    )
    positions = random_positions(n_units, seed=4)
    scatter = rng.normal(0, 15, n_units)  # degrees of per-unit noise around the smooth map

    found = detect_pinwheels(positions, point_charge_orientations(positions, pinwheels) + scatter)

    assert found.count == len(pinwheels) == 121
    assert np.all(nearest_distances(found.centres_mm, pinwheels) < 0.5)


def test_density_is_count_per_hypercolumn_area():
    positions = random_positions(20_000, seed=5)
    orientations = point_charge_orientations(positions, PLACED_PINWHEELS)

    found = detect_pinwheels(
        positions, orientations, sigma_mm=1.5, hypercolumn_width_mm=3.5, sheet_edge_mm=36.75
    )

    assert found.density == pytest.approx(9 / (36.75 / 3.5) ** 2)


def test_uniform_map_has_no_pinwheels():
    positions = random_positions(5_000, seed=6)
    found = detect_pinwheels(positions, np.full(5_000, 45.0), sigma_mm=1.5)
    assert found.count == 0
    assert found.centres_mm.shape == (0, 2)
    assert found.density == 0.0
    np.testing.assert_allclose(found.field.orientation_deg, 45.0)


def test_fewer_than_two_units_is_an_error():
    with pytest.raises(ValueError, match="at least 2 units"):
        detect_pinwheels(np.zeros((1, 2)), np.zeros(1))
