"""TDANN smoothness on maps with a known distance profile."""

import numpy as np
import pytest

from tdsnn_core.analysis import (
    category_distance_bin_edges,
    map_smoothness,
    smoothness_score,
    v1_distance_bin_edges,
)

SHEET_EDGE_MM = 36.75
SLOPE_DEG_PER_MM = 5.0


def expected_linear_map_curve(bin_edges: np.ndarray, slope: float) -> np.ndarray:
    """Mean |slope * dx| per bin for isotropic pairs: slope * (2 / pi) * E[distance | bin],
    with pair distances distributed proportionally to d (bins much smaller than the sheet)."""
    low, high = bin_edges[:-1], bin_edges[1:]
    mean_distance = 2 / 3 * (high**3 - low**3) / (high**2 - low**2)
    return slope * 2 / np.pi * mean_distance


@pytest.fixture(scope="module")
def linear_map():
    positions = np.random.default_rng(0).uniform(0, SHEET_EDGE_MM, (20_000, 2))
    return positions, (SLOPE_DEG_PER_MM * positions[:, 0]) % 180.0


def test_v1_bin_edges_follow_tdann():
    edges = v1_distance_bin_edges()
    assert len(edges) == 10
    assert edges[-1] == pytest.approx(np.sqrt(2) * (4 / 3 * 3.5) / 2)
    np.testing.assert_allclose(category_distance_bin_edges(), np.linspace(0, 60, 21))


def test_linear_orientation_map_is_smooth_with_the_analytic_curve(linear_map):
    edges = v1_distance_bin_edges()
    result = map_smoothness(*linear_map, edges)

    expected = expected_linear_map_curve(edges, SLOPE_DEG_PER_MM)
    np.testing.assert_allclose(result.mean_curve, expected, rtol=0.05)
    assert result.score == pytest.approx(1 - expected[0] / expected[-1], abs=0.02)
    assert result.score > 0.9
    assert result.curves.shape == (20, 9)


def test_shuffled_map_scores_near_zero(linear_map):
    positions, orientations = linear_map
    shuffled = np.random.default_rng(1).permutation(orientations)
    result = map_smoothness(positions, shuffled, v1_distance_bin_edges())
    assert abs(result.score) < 0.1
    np.testing.assert_allclose(result.mean_curve, 45.0, rtol=0.05)


def test_non_circular_mode_for_t_values(linear_map):
    positions, _ = linear_map
    t_values = 0.2 * positions[:, 0]
    edges = category_distance_bin_edges(max_distance_mm=3.0, n_bins=6)
    result = map_smoothness(positions, t_values, edges, circular_period=None)
    np.testing.assert_allclose(result.mean_curve, expected_linear_map_curve(edges, 0.2), rtol=0.05)


def test_circular_difference_wraps_to_half_period():
    positions = np.array([[0.0, 0.0], [0.1, 0.0]])
    edges = np.array([0.0, 1.0])
    wrapped = map_smoothness(positions, np.array([0.0, 170.0]), edges, n_samples=1)
    plain = map_smoothness(
        positions, np.array([0.0, 170.0]), edges, circular_period=None, n_samples=1
    )
    assert wrapped.mean_curve[0] == pytest.approx(10.0)
    assert plain.mean_curve[0] == pytest.approx(170.0)


def test_score_of_known_curves():
    assert smoothness_score(np.array([1.0, 2.0, 4.0, 3.0])) == pytest.approx(0.75)
    assert smoothness_score(np.array([2.0, np.nan, 1.0])) == 0.0
    assert smoothness_score(np.zeros(4)) == 0.0


def test_constant_map_scores_zero():
    positions = np.random.default_rng(2).uniform(0, 10, (300, 2))
    assert map_smoothness(positions, np.zeros(300), v1_distance_bin_edges()).score == 0.0


def test_edge_cases_raise_clear_errors():
    with pytest.raises(ValueError, match="at least 2 units"):
        map_smoothness(np.zeros((1, 2)), np.zeros(1), v1_distance_bin_edges())
    far_apart = np.array([[0.0, 0.0], [30.0, 0.0]])
    with pytest.raises(ValueError, match="first distance bin"):
        map_smoothness(far_apart, np.zeros(2), v1_distance_bin_edges())
