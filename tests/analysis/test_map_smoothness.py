"""TDANN smoothness on maps with a known distance profile."""

import numpy as np
import pytest

from tdsnn_core.analysis.smoothness import (
    PooledPairs,
    category_distance_bin_edges,
    map_smoothness,
    sheet_distance_bin_edges,
    smoothness_null,
    smoothness_score,
    v1_distance_bin_edges,
)
from tdsnn_core.analysis.tuning import orientation_diversity

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


def band_limited_orientations(positions: np.ndarray, wavelength_mm: float, seed: int = 0):
    """Orientations (deg) of a random band-limited map: theta = arg(sum of 30 plane waves of
    one wavelength) / 2, uniform over [0, 180) and independent beyond a few wavelengths."""
    rng = np.random.default_rng(seed)
    directions = rng.uniform(0, 2 * np.pi, 30)
    k = 2 * np.pi / wavelength_mm * np.column_stack([np.cos(directions), np.sin(directions)])
    z = np.exp(1j * (positions @ k.T + rng.uniform(0, 2 * np.pi, 30))).sum(axis=1)
    return np.rad2deg(np.angle(z) / 2) % 180.0


def two_orientation_map(positions: np.ndarray, seed: int = 0):
    """Smooth domains of 90 degrees (the top quarter of a band-limited random field) in a
    sea of 0 degrees: no orientation map, yet smooth within a 3.3 mm window."""
    rng = np.random.default_rng(seed)
    directions = rng.uniform(0, 2 * np.pi, 30)
    k = 2 * np.pi / 8.0 * np.column_stack([np.cos(directions), np.sin(directions)])
    field = np.cos(positions @ k.T + rng.uniform(0, 2 * np.pi, 30)).sum(axis=1)
    return np.where(field > np.quantile(field, 0.75), 90.0, 0.0)


@pytest.fixture(scope="module")
def sheet_positions():
    return np.random.default_rng(3).uniform(0, SHEET_EDGE_MM, (3000, 2))


def test_null_observed_score_is_the_map_smoothness_score(linear_map):
    positions, orientations = linear_map
    edges = v1_distance_bin_edges()
    null = smoothness_null(positions, orientations, edges, n_shuffles=10, n_samples=3, seed=4)
    smooth = map_smoothness(positions, orientations, edges, n_samples=3, seed=4)
    assert null.score.observed == pytest.approx(smooth.score, abs=1e-12)
    assert null.score.null.shape == (10,)


def test_smooth_map_sits_far_above_its_null(linear_map):
    null = smoothness_null(*linear_map, v1_distance_bin_edges())
    assert null.score.null.shape == (200,)
    assert null.score.percentile == 100.0
    assert null.score.p_greater == pytest.approx(1 / 201)
    assert null.score.z > 20
    assert abs(null.score.mean) < 0.05  # shuffled maps are salt-and-pepper
    np.testing.assert_allclose(null.mean_curve, 45.0, atol=1.0)  # uniform orientations


def test_random_map_sits_inside_its_null(sheet_positions):
    random = np.random.default_rng(5).uniform(0, 180, len(sheet_positions))
    null = smoothness_null(sheet_positions, random, v1_distance_bin_edges())
    low, high = null.score.interval
    assert low < null.score.observed < high
    assert 2.5 < null.score.percentile < 97.5


def test_null_p_values_are_calibrated_on_random_maps():
    """Under the null hypothesis (random maps), p <= 0.1 in about 10 % of maps."""
    rng = np.random.default_rng(6)
    p_values = []
    for _ in range(60):
        positions = rng.uniform(0, 12, (400, 2))
        null = smoothness_null(
            positions, rng.uniform(0, 180, 400), v1_distance_bin_edges(), n_shuffles=50
        )
        p_values.append(null.score.p_greater)
    assert 1 <= np.sum(np.array(p_values) <= 0.1) <= 13


def test_null_matches_explicitly_shuffled_maps(sheet_positions):
    """Slow reference: map_smoothness of 100 explicitly permuted maps (all units, one sample)
    has the same score distribution as the null's shuffles."""
    positions = sheet_positions[:1000]
    preferences = band_limited_orientations(positions, 6.0)
    edges = v1_distance_bin_edges()
    rng = np.random.default_rng(7)
    explicit = np.array(
        [
            map_smoothness(positions, rng.permutation(preferences), edges, n_samples=1).score
            for _ in range(100)
        ]
    )
    null = smoothness_null(positions, preferences, edges, n_shuffles=400, n_samples=1).score
    standard_error = np.hypot(explicit.std() / 10, null.std / 20)
    assert abs(null.mean - explicit.mean()) < 4 * standard_error
    assert null.std == pytest.approx(explicit.std(), rel=0.3)


@pytest.mark.parametrize(
    ("circular_period", "n_samples", "sample_size"), [(None, 20, 1000), (180.0, 6, 700)]
)
def test_null_scores_equal_map_smoothness_of_each_shuffled_map(
    circular_period, n_samples, sample_size
):
    """Slow reference, shuffle by shuffle: the null's scores are ``map_smoothness`` of the
    maps it shuffles (same samples; their pairs overlap, as IT's 1,000 of 2,048 units do)."""
    rng = np.random.default_rng(8)
    positions = rng.uniform(0, 40.0, (2048, 2))  # every pair inside the IT bins (0-60 mm)
    values = rng.normal(size=2048) + positions[:, 0] / 10
    if circular_period:
        values = band_limited_orientations(positions, 12.0)
    edges = category_distance_bin_edges()
    sampling = {"n_samples": n_samples, "sample_size": sample_size, "seed": 9}
    null = smoothness_null(
        positions, values, edges, circular_period=circular_period, n_shuffles=12, **sampling
    )
    draws = np.random.default_rng(9)  # the units the samples drew: the shuffled ones
    used = np.unique([draws.choice(2048, sample_size, replace=False) for _ in range(n_samples)])
    shuffles = np.random.default_rng((9, 1))
    expected = []
    for _ in range(12):
        shuffled = values.copy()
        shuffled[used] = values[shuffles.choice(2048, size=len(used), replace=False)]
        expected.append(
            map_smoothness(positions, shuffled, edges, circular_period=circular_period, **sampling)
        )
    np.testing.assert_allclose(null.score.null, [e.score for e in expected], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        null.mean_curve, np.mean([e.mean_curve for e in expected], axis=0), rtol=1e-9
    )


@pytest.mark.parametrize("circular_period", [None, 180.0])
def test_scores_of_many_maps_are_map_smoothness_of_each(circular_period):
    """Slow reference: each map scored by ``map_smoothness`` with the same arguments."""
    rng = np.random.default_rng(5)
    positions = rng.uniform(0, 40.0, (1500, 2))
    maps = rng.normal(size=(6, 1500)) + positions[:, 0] / rng.uniform(2, 20, (6, 1))
    if circular_period:
        maps = maps * 30.0 - 45.0  # negative and beyond 180 degrees: reduced like one map's
    edges = category_distance_bin_edges()
    sampling = {"n_samples": 5, "sample_size": 1000, "seed": 2}
    scores = PooledPairs.sampled(positions, edges, **sampling).scores(maps, circular_period)
    expected = [
        map_smoothness(positions, m, edges, circular_period=circular_period, **sampling).score
        for m in maps
    ]
    np.testing.assert_allclose(scores, expected, rtol=1e-9)


def test_two_orientation_map_is_smooth_but_no_orientation_map(sheet_positions):
    two = two_orientation_map(sheet_positions)
    genuine = band_limited_orientations(sheet_positions, 6.0)
    window = v1_distance_bin_edges()
    whole_sheet = sheet_distance_bin_edges(sheet_positions)

    null = smoothness_null(sheet_positions, two, window)
    assert null.score.observed > 0.5 and null.score.percentile == 100.0  # "smooth" ...
    diversity = orientation_diversity(two)
    assert diversity.occupied_bins() == 2  # ... with two orientations
    np.testing.assert_allclose(diversity.fractions[[0, 4]], [0.75, 0.25], atol=1e-3)
    assert diversity.circular_variance == pytest.approx(0.5, abs=1e-3)  # 1 - |0.75 - 0.25|

    # far pairs are independent: chance for a 3:1 mix of 0 and 90 degrees is
    # 90 * 2 * 0.75 * 0.25 = 33.75 degrees, not the 45 of a genuine orientation map
    centres = (whole_sheet[:-1] + whole_sheet[1:]) / 2
    far = (centres > 15.0) & (centres < SHEET_EDGE_MM)  # bins with many pairs
    two_curve = map_smoothness(sheet_positions, two, whole_sheet).mean_curve
    genuine_curve = map_smoothness(sheet_positions, genuine, whole_sheet).mean_curve
    np.testing.assert_allclose(two_curve[far], 33.75, atol=4.0)
    np.testing.assert_allclose(genuine_curve[far], 45.0, atol=4.0)
    np.testing.assert_allclose(null.mean_curve, 33.75, atol=1.0)
    assert orientation_diversity(genuine).occupied_bins() == 8


def test_sheet_bins_span_the_bounding_box_diagonal():
    positions = np.array([[1.0, 2.0], [4.0, 6.0], [2.0, 3.0]])
    edges = sheet_distance_bin_edges(positions, n_bins=5)
    np.testing.assert_allclose(edges, np.linspace(0, 5.0, 6))


def test_null_needs_pairs_in_the_first_bin_and_a_shuffle():
    far_apart = np.array([[0.0, 0.0], [30.0, 0.0]])
    with pytest.raises(ValueError, match="first distance bin"):
        smoothness_null(far_apart, np.zeros(2), v1_distance_bin_edges())
    with pytest.raises(ValueError, match="n_shuffles"):
        smoothness_null(far_apart, np.zeros(2), v1_distance_bin_edges(), n_shuffles=0)
