"""The smoothness interval (tiles of the sheet resampled) against maps whose generating
process is known: noisy band-limited orientation maps at the analysed-unit density of the
bundled V1 (4,096 of 16,384 units on a 36.75 mm sheet)."""

from functools import cache

import numpy as np
import pytest

from tdsnn_core.analysis.maps import orientation_map, smoothness_difference
from tdsnn_core.analysis.smoothness import (
    map_smoothness,
    smoothness_interval,
    v1_distance_bin_edges,
)
from tdsnn_core.analysis.stimuli import grating_set
from tdsnn_core.analysis.synthetic_maps import BandLimitedMap, uniform_positions

SHEET_EDGE_MM = 36.75
N_UNITS = 4096
WINDOW = v1_distance_bin_edges()


@cache
def noisy_map(seed: int, noise_deg: float = 30.0) -> tuple[np.ndarray, np.ndarray]:
    """One realisation of a stationary process: a band-limited map (Lambda 6 mm) seen through
    Gaussian scatter of ``noise_deg`` on uniformly placed units."""
    band_map = BandLimitedMap.random(6.0, SHEET_EDGE_MM, seed=seed)
    positions = uniform_positions(N_UNITS, SHEET_EDGE_MM, seed=10_000 + seed)
    scatter = np.random.default_rng(20_000 + seed).normal(0, noise_deg, N_UNITS)
    return positions, (band_map.orientation_deg(positions) + scatter) % 180.0


@pytest.fixture(scope="module")
def process_smoothness() -> tuple[float, float]:
    """Mean and standard deviation of the smoothness over 40 independent realisations."""
    scores = [map_smoothness(*noisy_map(seed), WINDOW).score for seed in range(100, 140)]
    return float(np.mean(scores)), float(np.std(scores))


def test_estimate_is_the_map_smoothness_score():
    positions, preferences = noisy_map(0)
    interval = smoothness_interval([(positions, preferences)], WINDOW, sheet_edge_mm=SHEET_EDGE_MM)
    assert interval.estimate == pytest.approx(map_smoothness(positions, preferences, WINDOW).score)
    assert interval.low < interval.estimate < interval.high


def test_interval_covers_the_process_smoothness_and_is_as_wide_as_its_spread(
    process_smoothness,
):
    """Most intervals of independent maps hold the process's smoothness (nominal 95 %;
    measured 91-92 % over 150 maps, so at least 80 % of these 40), and their width matches
    the spread of the score across realisations (a far too wide interval would cover too)."""
    truth, spread = process_smoothness
    intervals = [
        smoothness_interval([noisy_map(seed)], WINDOW, sheet_edge_mm=SHEET_EDGE_MM)
        for seed in range(40)
    ]
    coverage = np.mean([i.low <= truth <= i.high for i in intervals])
    width = np.mean([i.high - i.low for i in intervals])
    assert 0.8 <= coverage <= 1.0
    assert 0.7 < width / (2 * 1.96 * spread) < 1.4


def test_difference_of_two_maps_of_one_process_holds_zero():
    intervals = [
        smoothness_interval(
            [noisy_map(seed), noisy_map(500 + seed)], WINDOW, sheet_edge_mm=SHEET_EDGE_MM
        )
        for seed in range(40)
    ]
    assert np.mean([i.low <= 0 <= i.high for i in intervals]) >= 0.8


def test_difference_of_a_smoother_map_excludes_zero():
    smoother, rougher = noisy_map(1, noise_deg=15.0), noisy_map(2, noise_deg=40.0)
    difference = smoothness_interval([smoother, rougher], WINDOW, sheet_edge_mm=SHEET_EDGE_MM)
    single = [
        map_smoothness(*m, WINDOW).score for m in (smoother, rougher)
    ]  # the estimate is the plain difference of the two scores
    assert difference.estimate == pytest.approx(single[0] - single[1])
    assert difference.excludes_zero and difference.low > 0


def test_a_map_minus_itself_is_exactly_zero():
    """Both maps get the same tiles in every draw: what they share cancels."""
    one = noisy_map(3)
    difference = smoothness_interval([one, one], WINDOW, sheet_edge_mm=SHEET_EDGE_MM)
    assert (difference.estimate, difference.low, difference.high) == (0.0, 0.0, 0.0)


def test_sheet_too_sparse_to_resample_has_no_bounds():
    """One close pair on a 6 mm lattice: a third of the draws miss its tile."""
    lattice = np.stack(np.meshgrid(np.arange(3.0, 36.0, 6.0), np.arange(3.0, 36.0, 6.0)), -1)
    positions = np.vstack([lattice.reshape(-1, 2), [[3.2, 3.0]]])
    preferences = np.random.default_rng(4).uniform(0, 180, len(positions))
    window = np.linspace(0, 2.0, 5)
    interval = smoothness_interval([(positions, preferences)], window, sheet_edge_mm=SHEET_EDGE_MM)
    assert np.isfinite(interval.estimate)
    assert np.isnan(interval.low) and np.isnan(interval.high)


def test_bad_arguments_raise_clear_errors():
    one = noisy_map(0)
    with pytest.raises(ValueError, match="one map, or two"):
        smoothness_interval([one, one, one], WINDOW, sheet_edge_mm=SHEET_EDGE_MM)
    with pytest.raises(ValueError, match="tile_mm"):
        smoothness_interval([one], WINDOW, sheet_edge_mm=SHEET_EDGE_MM, tile_mm=50.0)


def grating_map(positions: np.ndarray, preferences: np.ndarray, seed: int):
    """An orientation map measured from rates: units tuned (von Mises in 2 theta) to
    ``preferences``, responding to 16 orientations of one grating."""
    gratings = grating_set(8, 1, n_orientations=16, frequencies=[2.0], phases_deg=[0.0])
    rng = np.random.default_rng(seed)
    delta = np.deg2rad(2 * (gratings.orientations_deg[:, None] - preferences[None, :]))
    rates = np.exp(2 * (np.cos(delta) - 1)) * rng.uniform(0.5, 1.0, len(preferences))
    return orientation_map(
        positions, rates, gratings, sheet_edge_mm=SHEET_EDGE_MM, n_shuffles=20, seed=seed
    )


def test_model_difference_needs_one_sheet():
    positions, smooth = noisy_map(5, noise_deg=10.0)
    rough = np.random.default_rng(5).uniform(0, 180, len(positions))
    first, second = grating_map(positions, smooth, 0), grating_map(positions, rough, 0)
    difference = smoothness_difference(first, second)
    assert difference is not None
    assert difference.estimate == pytest.approx(first.smoothness.score - second.smoothness.score)
    assert difference.low > 0.3
    assert first.smoothness_interval.low <= first.smoothness.score <= first.smoothness_interval.high

    moved = grating_map(positions[::-1].copy(), rough, 0)
    assert smoothness_difference(first, moved) is None
