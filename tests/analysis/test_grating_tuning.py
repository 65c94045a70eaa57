"""Tuning metrics on synthetic grating responses with known preferences."""

import numpy as np
import pytest
from scipy.special import j1

from tdsnn_core.analysis.synthetic_maps import ring_spectrum_orientations
from tdsnn_core.analysis.tuning import (
    _between_tile_resultants,
    grating_tuning,
    orientation_diversity,
    orientation_selectivity_index,
    paired_circular_variance_difference,
    preferred_orientation,
    top_fraction_mask,
    tuning_range,
)

ORIENTATIONS_DEG = np.arange(16) * 180 / 16
SPATIAL_FREQUENCIES = np.array([1.0, 2.0, 4.0, 8.0])
PHASES = np.linspace(0, 2 * np.pi, 4, endpoint=False)


def von_mises_responses(preferred_deg, preferred_sf_index, kappa=2.0):
    """[n_ori, n_sf, n_phase, N] = orientation tuning x SF tuning x phase modulation."""
    doubled = 2 * np.deg2rad(ORIENTATIONS_DEG[:, None] - preferred_deg[None, :])
    by_orientation = 0.2 + 3.0 * np.exp(kappa * (np.cos(doubled) - 1))
    sf_distance = np.arange(len(SPATIAL_FREQUENCIES))[:, None] - preferred_sf_index[None, :]
    by_sf = np.exp(-(sf_distance**2))
    by_phase = 1 + 0.5 * np.cos(PHASES)
    return (
        by_orientation[:, None, None, :] * by_sf[None, :, None, :] * by_phase[None, None, :, None]
    )


def test_recovers_planted_preferences():
    rng = np.random.default_rng(0)
    preferred = rng.uniform(0, 180, 200)
    preferred_sf_index = rng.integers(0, len(SPATIAL_FREQUENCIES), 200)

    tuning = grating_tuning(
        von_mises_responses(preferred, preferred_sf_index), ORIENTATIONS_DEG, SPATIAL_FREQUENCIES
    )

    error = np.abs(tuning.preferred_orientation_deg - preferred) % 180
    assert np.max(np.minimum(error, 180 - error)) < 1.0
    np.testing.assert_array_equal(
        tuning.preferred_spatial_frequency, SPATIAL_FREQUENCIES[preferred_sf_index]
    )
    assert np.all(tuning.responsive)
    assert np.all((tuning.orientation_selectivity > 0.3) & (tuning.orientation_selectivity < 1))


def test_cosine_tuning_has_osi_one_half():
    curves = 1 + np.cos(2 * np.deg2rad(ORIENTATIONS_DEG[:, None] - np.array([[30.0, 125.0]])))
    np.testing.assert_allclose(orientation_selectivity_index(curves, ORIENTATIONS_DEG), 0.5)
    np.testing.assert_allclose(preferred_orientation(curves, ORIENTATIONS_DEG), [30.0, 125.0])


def test_untuned_and_silent_units_are_finite():
    responses = np.zeros((16, 4, 4, 2))
    responses[..., 0] = 2.5  # untuned
    tuning = grating_tuning(responses, ORIENTATIONS_DEG, SPATIAL_FREQUENCIES)

    assert tuning.orientation_selectivity[0] == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_array_equal(tuning.responsive, [True, False])
    assert tuning.preferred_orientation_deg[1] == 0.0
    assert tuning.orientation_selectivity[1] == 0.0
    assert tuning.preferred_spatial_frequency[1] == 0.0
    np.testing.assert_array_equal(tuning.orientation_range, [0.0, 0.0])


def test_tuning_range_and_top_quarter():
    values = np.array([5.0, 1.0, 4.0, 2.0, 3.0, 0.0, 7.0, 6.0])
    curves = np.stack([np.zeros(8), values])
    np.testing.assert_array_equal(tuning_range(curves), values)
    np.testing.assert_array_equal(np.flatnonzero(top_fraction_mask(values, 0.25)), [6, 7])
    assert top_fraction_mask(values, 0.01).sum() == 1
    with pytest.raises(ValueError, match="fraction"):
        top_fraction_mask(values, 0.0)


def test_malformed_responses_raise():
    with pytest.raises(ValueError, match="non-negative"):
        grating_tuning(-np.ones((16, 4, 4, 3)), ORIENTATIONS_DEG, SPATIAL_FREQUENCIES)
    with pytest.raises(ValueError, match="n_orientations"):
        grating_tuning(np.ones((16, 4, 3)), ORIENTATIONS_DEG, SPATIAL_FREQUENCIES)
    with pytest.raises(ValueError, match="one orientation per row"):
        grating_tuning(np.ones((8, 4, 4, 3)), ORIENTATIONS_DEG, SPATIAL_FREQUENCIES)


def test_orientation_diversity_bins_and_circular_variance():
    diversity = orientation_diversity(np.array([0.0, 179.0, 11.0, 12.0, 90.0, 101.0, 150.0, 170.0]))
    np.testing.assert_allclose(diversity.bin_centres_deg, 22.5 * np.arange(8))
    # bins are centred on multiples of 22.5 degrees and wrap: 179 and 170 join 0 and 11
    np.testing.assert_array_equal(diversity.counts, [4, 1, 0, 0, 2, 0, 0, 1])
    np.testing.assert_allclose(diversity.fractions, diversity.counts / 8)
    assert diversity.occupied_bins() == 4
    assert diversity.occupied_bins(min_fraction=0.2) == 2

    assert orientation_diversity(np.full(10, 33.0)).circular_variance == pytest.approx(0.0)
    orthogonal = orientation_diversity(np.repeat([0.0, 90.0], 50))  # only the histogram shows it
    assert orthogonal.circular_variance == pytest.approx(1.0)
    assert orthogonal.occupied_bins() == 2
    even = orientation_diversity(np.arange(0, 180, 22.5))
    assert even.circular_variance == pytest.approx(1.0) and even.occupied_bins() == 8
    # doubled angles 20, 80, 140: mean vector exp(80i) (1 + 2 cos 60) / 3, length 2 / 3
    spread = orientation_diversity(np.array([10.0, 40.0, 70.0]))
    assert spread.circular_variance == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="non-empty"):
        orientation_diversity(np.zeros(0))


def test_diversity_intervals_of_independent_units_are_binomial_and_cover():
    """Preferences drawn independently of position: resampling tiles is resampling units,
    so each bin's interval has the binomial width 2 * 1.96 sqrt(p (1 - p) / N), and over 40
    such sheets the intervals hold the true 1/8 about 95 % of the time."""
    rng = np.random.default_rng(0)
    n, covered = 2000, []
    for seed in range(40):
        positions = rng.uniform(0, 40.0, (n, 2))
        diversity = orientation_diversity(
            rng.uniform(0, 180, n), positions, sheet_edge_mm=40.0, tile_mm=4.0, seed=seed
        )
        low, high = diversity.fraction_intervals.T
        p = diversity.fractions
        np.testing.assert_allclose(high - low, 2 * 1.96 * np.sqrt(p * (1 - p) / n), rtol=0.25)
        covered.extend((low <= 1 / 8) & (high >= 1 / 8))
    assert 0.88 <= np.mean(covered) <= 0.99


def test_diversity_intervals_count_domains_not_units():
    """Each 4 mm tile of a 64 x 64 grid (64 units) is one orientation domain: the fractions
    vary as those of 64 tiles, 8 times the binomial width of 4,096 units."""
    rng = np.random.default_rng(2)
    x, y = np.meshgrid(np.arange(64) + 0.5, np.arange(64) + 0.5)
    positions = np.column_stack([x.ravel(), y.ravel()]) / 2  # 32 mm sheet
    tile = (positions[:, 1] // 4 * 8 + positions[:, 0] // 4).astype(int)
    domains = rng.integers(0, 8, 64) * 22.5
    diversity = orientation_diversity(
        domains[tile], positions, sheet_edge_mm=32.0, tile_mm=4.0, seed=3
    )
    low, high = diversity.fraction_intervals.T
    q = np.bincount((domains / 22.5).astype(int), minlength=8) / 64
    np.testing.assert_allclose(diversity.fractions, q)
    filled = q > 0
    np.testing.assert_allclose(
        (high - low)[filled], (2 * 1.96 * np.sqrt(q * (1 - q) / 64))[filled], rtol=0.25
    )
    with pytest.raises(ValueError, match="tile_mm"):
        orientation_diversity(domains[tile], positions, sheet_edge_mm=32.0, tile_mm=40.0)


def test_between_tile_resultant_matches_a_pair_loop():
    """Per draw of tiles, |E z|^2 from pairs of units in different tiles: the mean of
    Re z_i z_j* over every pair of units whose (drawn) tiles are copies of different tiles."""
    rng = np.random.default_rng(4)
    tiles = rng.integers(0, 6, 40)
    z = np.exp(2j * rng.uniform(0, np.pi, 40))
    sums = np.bincount(tiles, z.real, 6) + 1j * np.bincount(tiles, z.imag, 6)
    weights = np.array([[1, 1, 1, 1, 1, 1], [2, 0, 1, 0, 3, 0], [0, 0, 6, 0, 0, 0]])
    got = _between_tile_resultants(weights, sums, np.bincount(tiles, minlength=6))
    for draw, value in zip(weights, got, strict=True):
        copies = [t for t in range(6) for _ in range(draw[t])]
        total, pairs = 0.0, 0
        for a, ta in enumerate(copies):
            for b, tb in enumerate(copies):
                if a != b and ta != tb:
                    for i in np.flatnonzero(tiles == ta):
                        for j in np.flatnonzero(tiles == tb):
                            total += (z[i] * np.conj(z[j])).real
                            pairs += 1
        if pairs:
            assert value == pytest.approx(total / pairs, rel=1e-12)
        else:
            assert np.isnan(value)


def test_circular_variance_interval_covers_the_population_value_of_a_map():
    """Maps at the default V1's scale (4,096 units, 36.75 mm, a spectral ring at 6.2 mm) with
    preferences warped on the doubled angle (phi - a sin phi) plus 20 degrees of scatter: the
    population's circular variance is 1 - J_1(a) exp(-2 s^2). The interval covers it in most
    maps, also where it is 1 (a = 0), which a percentile bootstrap of the plug-in never does
    (its resultant is biased upward)."""
    rng = np.random.default_rng(6)
    scatter = np.deg2rad(20.0)
    for a, need in ((0.0, 9), (1.0, 8)):
        truth = 1 - j1(a) * np.exp(-2 * scatter**2)
        covered = 0
        for seed in range(10):
            positions = rng.uniform(0, 36.75, (4096, 2))
            base = np.deg2rad(2 * ring_spectrum_orientations(positions, 6.2, 0.1, rng=rng))
            doubled = base - a * np.sin(base) + 2 * rng.normal(0, scatter, 4096)
            diversity = orientation_diversity(
                np.rad2deg(doubled / 2) % 180, positions, sheet_edge_mm=36.75, tile_mm=6.6,
                seed=seed,
            )  # fmt: skip
            low, high = diversity.circular_variance_interval.bounds
            assert low <= diversity.circular_variance + 0.05 and high <= 1.0
            covered += low <= truth <= high
        assert covered >= need


def test_paired_circular_variance_difference_is_paired_and_covers_the_true_difference():
    """Two maps on one sheet (4,096 units each, rings at 6.2 mm), one uniform (a = 0) and one
    warped (a = 1), 20 degrees of scatter: the true difference is -J_1(1) exp(-2 s^2). The
    paired interval covers it in most pairs of maps; a map against itself is exactly 0."""
    rng = np.random.default_rng(7)
    scatter = np.deg2rad(20.0)
    truth = -j1(1.0) * np.exp(-2 * scatter**2)
    tiles = {"sheet_edge_mm": 36.75, "tile_mm": 6.6}
    covered = 0
    for seed in range(10):
        maps = []
        for a in (0.0, 1.0):
            positions = rng.uniform(0, 36.75, (4096, 2))
            base = np.deg2rad(2 * ring_spectrum_orientations(positions, 6.2, 0.1, rng=rng))
            doubled = base - a * np.sin(base) + 2 * rng.normal(0, scatter, 4096)
            maps.append((positions, np.rad2deg(doubled / 2) % 180))
        difference = paired_circular_variance_difference(*maps, **tiles, seed=seed)
        covered += difference.low <= truth <= difference.high
        same = paired_circular_variance_difference(maps[0], maps[0], **tiles, seed=seed)
        assert same.estimate == same.low == same.high == 0.0
    assert covered >= 8
