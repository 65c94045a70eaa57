"""Pinwheel detector on maps whose pinwheels are known by construction: point charges
placed on the sheet, and band-limited random maps whose zeros come from the exact field."""

import warnings
from functools import cache

import numpy as np
import pytest

from tdsnn_core.analysis import detect_pinwheels, doubled_angle_winding, orientation_field
from tdsnn_core.analysis.pinwheels import (
    _power_mode,
    _SpectrumGrid,
    _unit_spacing,
    column_spacing_interval,
    expected_column_spacing,
    field_pinwheels,
    map_spectrum,
    shuffled_pinwheel_null,
)
from tdsnn_core.analysis.synthetic_maps import (
    BandLimitedMap,
    ring_spectrum_orientations,
    uniform_positions,
)

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
    return uniform_positions(n_units, SHEET_EDGE_MM, seed)


def nearest_distances(found: np.ndarray, placed: np.ndarray) -> np.ndarray:
    return np.linalg.norm(found[:, None, :] - placed[None, :, :2], axis=2).min(axis=0)


def noisy_orientations(band_map: BandLimitedMap, positions, noise_deg: float, seed: int):
    scatter = np.random.default_rng(seed).normal(0, noise_deg, len(positions))
    return band_map.orientation_deg(positions) + scatter


@cache
def band_map_sample(spacing_mm: float, seed: int, n_units: int):
    """A band-limited map's true pinwheel count, and units with its exact orientations."""
    band_map = BandLimitedMap.random(spacing_mm, SHEET_EDGE_MM, seed=seed)
    positions = random_positions(n_units, seed=10 + seed)
    return band_map.pinwheel_count(), positions, band_map.orientation_deg(positions)


def test_ideal_pinwheel_winds_exactly_one_doubled_turn():
    x, y = np.meshgrid(np.arange(10.0), np.arange(8.0))
    z = (x - 4.3) + 1j * (y - 5.6)
    for doubled_angle_field, expected in ((z / abs(z), 1), (np.conj(z) / abs(z), -1)):
        winding = doubled_angle_winding(doubled_angle_field)
        assert winding[5, 4] == expected
        assert np.count_nonzero(winding) == 1


def test_true_count_of_a_band_limited_map_is_converged_and_near_pi_per_column():
    band_map = BandLimitedMap.random(3.5, SHEET_EDGE_MM, seed=5)
    assert band_map.pinwheel_count() == band_map.pinwheel_count(3.5 / 200)
    # Wolf & Geisel: pi per Lambda^2 in expectation; 6 maps of ~1,050 zeros each.
    counts = [BandLimitedMap.random(2.0, SHEET_EDGE_MM, seed=s).pinwheel_count() for s in range(6)]
    assert np.sum(counts) / (6 * (SHEET_EDGE_MM / 2.0) ** 2) == pytest.approx(np.pi, rel=0.04)


@pytest.mark.parametrize("n_units", [20_000, 100_000])
@pytest.mark.parametrize("spacing_mm", [2.0, 3.5])
@pytest.mark.parametrize("noise_deg", [0.0, 12.0])  # 12 degrees: neighbour coherence 0.84
def test_counts_pinwheels_of_band_limited_maps_within_5_percent(n_units, spacing_mm, noise_deg):
    found, true = [], []
    for seed in (0, 1):
        true_count, positions, orientations = band_map_sample(spacing_mm, seed, n_units)
        scatter = np.random.default_rng(seed).normal(0, noise_deg, n_units)
        pinwheels = detect_pinwheels(
            positions, orientations + scatter, sheet_edge_mm=36.75, interval_maps=0
        )
        assert pinwheels.resolvable and pinwheels.reason is None
        assert pinwheels.column_spacing_mm == pytest.approx(spacing_mm, rel=0.02)
        assert pinwheels.density == pytest.approx(
            pinwheels.count * pinwheels.column_spacing_mm**2 / SHEET_EDGE_MM**2
        )
        assert pinwheels.density == pytest.approx(np.pi, rel=0.12)
        found.append(pinwheels.count)
        true.append(true_count)
    assert sum(found) == pytest.approx(sum(true), rel=0.05)


@pytest.mark.parametrize(("n_units", "tolerance_mm"), [(2_000, 1.0), (20_000, 0.5), (100_000, 0.5)])
def test_finds_every_placed_pinwheel_at_any_density(n_units, tolerance_mm):
    positions = random_positions(n_units, seed=n_units)
    orientations = point_charge_orientations(positions, PLACED_PINWHEELS)

    centres, signs = field_pinwheels(
        orientation_field(positions, orientations, sigma_mm=1.5, stride_mm=0.75)
    )

    assert len(signs) == len(PLACED_PINWHEELS)
    assert np.all(nearest_distances(centres, PLACED_PINWHEELS) < tolerance_mm)
    order = np.argmin(
        np.linalg.norm(centres[:, None] - PLACED_PINWHEELS[None, :, :2], axis=2), axis=0
    )
    np.testing.assert_array_equal(signs[order], PLACED_PINWHEELS[:, 2])


@pytest.mark.parametrize("n_units", [2_000, 20_000, 100_000])
@pytest.mark.parametrize("kind", ["placed", "band-limited"])
def test_shuffled_map_is_not_resolvable(n_units, kind):
    positions = random_positions(n_units, seed=1)
    if kind == "placed":
        orientations = point_charge_orientations(positions, PLACED_PINWHEELS)
    else:
        orientations = BandLimitedMap.random(2.0, SHEET_EDGE_MM, seed=3).orientation_deg(positions)
    shuffled = np.random.default_rng(2).permutation(orientations)

    found = detect_pinwheels(positions, shuffled, sheet_edge_mm=SHEET_EDGE_MM)

    assert found.count == 0 and not found.resolvable and np.isnan(found.density)
    assert "white-noise floor" in found.reason


def test_shuffle_null_beside_a_resolvable_map():
    positions = random_positions(20_000, seed=4)
    orientations = BandLimitedMap.random(2.0, SHEET_EDGE_MM, seed=4).orientation_deg(positions)

    null = shuffled_pinwheel_null(positions, orientations, n_shuffles=8, seed=1)

    assert null.counts.shape == null.densities.shape == (8,)
    np.testing.assert_array_equal(null.counts, 0)
    assert np.all(np.isnan(null.densities)) and null.resolvable_fraction == 0.0
    assert detect_pinwheels(positions, orientations, interval_maps=0).resolvable


@pytest.mark.parametrize(
    ("n_units", "spacing_mm", "noise_deg", "reason"),
    [
        (784, 3.5, 0.0, "units too sparse"),  # the bundled V1 density
        (5_000, 0.78, 0.0, "units too sparse"),  # Lambda = 1.5 unit spacings
        (20_000, 12.0, 0.0, "too few columns"),
        (20_000, 2.0, 30.0, "too few effective units per kernel"),
    ],
)
def test_underpowered_map_is_not_resolvable_and_says_why(n_units, spacing_mm, noise_deg, reason):
    positions = random_positions(n_units, seed=6)
    band_map = BandLimitedMap.random(spacing_mm, SHEET_EDGE_MM, seed=6)

    found = detect_pinwheels(
        positions, noisy_orientations(band_map, positions, noise_deg, 6), sheet_edge_mm=36.75
    )

    assert not found.resolvable and found.count == 0 and np.isnan(found.density)
    assert reason in found.reason
    assert found.column_spacing_mm == pytest.approx(spacing_mm, rel=0.05)


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

    orientations = point_charge_orientations(positions, pinwheels) + scatter
    found = detect_pinwheels(positions, orientations, interval_maps=0)

    assert found.count == len(pinwheels) == 121
    assert np.all(nearest_distances(found.centres_mm, pinwheels) < 0.5)
    # Alternating charges 3 mm apart repeat every 6 mm along x and y.
    assert 5.0 < found.column_spacing_mm < 7.0


def test_uniform_map_is_not_resolvable():
    positions = random_positions(5_000, seed=6)
    found = detect_pinwheels(positions, np.full(5_000, 45.0))
    assert found.count == 0 and not found.resolvable and np.isnan(found.density)
    assert found.centres_mm.shape == (0, 2)
    assert np.isnan(found.column_spacing_mm)
    np.testing.assert_allclose(found.field.orientation_deg, 45.0)


def test_fewer_than_two_units_is_an_error():
    with pytest.raises(ValueError, match="at least 2 units"):
        detect_pinwheels(np.zeros((1, 2)), np.zeros(1))


@cache
def model_scale_maps() -> list[tuple[int, object]]:
    """Eight band-limited maps at the bundled V1's scale and noise: 16,384 units on the 36.75 mm
    sheet, Lambda 6.3 mm, 30 degrees of per-unit scatter (neighbour coherence ~0.33, as the
    default model's map of all tuned units): each map's true count and what the detector finds."""
    maps = []
    for seed in range(8):
        band_map = BandLimitedMap.random(6.3, SHEET_EDGE_MM, seed=100 + seed)
        positions = random_positions(16_384, seed=10 + seed)
        orientations = noisy_orientations(band_map, positions, 30.0, seed)
        found = detect_pinwheels(positions, orientations, sheet_edge_mm=SHEET_EDGE_MM, seed=seed)
        maps.append((band_map.pinwheel_count(), found))
    return maps


def test_counts_pinwheels_of_noisy_maps_at_the_bundled_models_scale():
    """Realistic density and noise, not only clean maps: the detector keeps the count within
    10 % of the truth over eight maps (Lambda / 8 smoothing merges a few close pairs)."""
    maps = model_scale_maps()
    assert all(found.resolvable for _, found in maps)
    assert all(0.25 < found.spectrum.coherence < 0.45 for _, found in maps)
    true, counted = (sum(m) for m in zip(*((t, f.count) for t, f in maps), strict=True))
    assert counted == pytest.approx(true, rel=0.10)


def test_density_interval_is_as_wide_as_the_spread_across_maps():
    """The parametric-bootstrap interval's standard error matches the spread of densities over
    independent maps of the same kind; a tile bootstrap of the pinwheels (Lambda fixed) was
    about half as wide."""
    densities = np.array([found.density for _, found in model_scale_maps()])
    errors = [
        (f.density_interval.high - f.density_interval.low) / (2 * 1.96)
        for _, f in model_scale_maps()
    ]
    for _, found in model_scale_maps():
        assert found.density_interval.low < found.density < found.density_interval.high
    assert 0.6 < np.mean(errors) / densities.std(ddof=1) < 1.6
    assert np.mean(densities) == pytest.approx(np.pi, rel=0.1)


def test_unresolvable_map_has_no_density_interval():
    positions = random_positions(5_000, seed=6)
    assert detect_pinwheels(positions, np.full(5_000, 45.0)).density_interval is None


def test_unresolvable_map_with_a_spectral_peak_has_a_column_spacing_interval():
    """Too few columns for pinwheels (Lambda 12 mm on the 36.75 mm sheet), but a peak: Lambda
    still gets its interval, and it covers the truth (the peak of the mean spectrum of 40 such
    maps: 3 columns across the sheet put it 4 % above the generator's 12 mm) in 5 of 6 maps."""
    positions = random_positions(4_000, seed=3)
    spacing_mm = _unit_spacing(float(np.prod(np.ptp(positions, axis=0))), len(positions))
    grid = _SpectrumGrid(positions, spacing_mm)
    band_maps = [BandLimitedMap.random(12.0, SHEET_EDGE_MM, seed=seed) for seed in range(40)]
    spectra = [
        map_spectrum(positions, m.orientation_deg(positions), spacing_mm=spacing_mm, grid=grid)
        for m in band_maps
    ]
    truth = expected_column_spacing(spectra, grid.last)
    found = [detect_pinwheels(positions, m.orientation_deg(positions)) for m in band_maps[:6]]
    assert all(not f.resolvable and "too few columns" in f.reason for f in found)
    assert all(f.density_interval is None for f in found)
    intervals = [f.column_spacing_interval for f in found]
    assert sum(i.low <= truth <= i.high for i in intervals) >= 5
    assert detect_pinwheels(positions, band_maps[0].orientation_deg(positions), interval_maps=0) \
        .column_spacing_interval is None  # fmt: skip


def test_column_spacing_moves_continuously_with_lambda():
    """One band-limited map dilated from Lambda 5.6 to 7.0 mm in 0.05 mm steps, at the default
    V1's scale: the estimate follows the truth without steps (each move 0 to 0.1 mm for a
    0.05 mm change) within -0.05 to +0.15 mm. The earlier estimator, the centroid of the
    half-maximum lobe's rings, jumped by up to 0.3 mm between neighbouring Lambdas."""
    base = BandLimitedMap.random(6.3, SHEET_EDGE_MM, seed=11)
    positions = random_positions(16_384, seed=11)
    spacing_mm = _unit_spacing(SHEET_EDGE_MM**2, len(positions))
    grid = _SpectrumGrid(positions, spacing_mm)
    truths = np.arange(5.6, 7.0001, 0.05)
    estimates = []
    for truth in truths:
        dilated = BandLimitedMap(base.wavevectors * 6.3 / truth, base.coefficients, truth, 36.75)
        spectrum = map_spectrum(
            positions, dilated.orientation_deg(positions), spacing_mm=spacing_mm, grid=grid
        )
        estimates.append(spectrum.column_spacing_mm)
    errors, moves = np.array(estimates) - truths, np.diff(estimates)
    assert -0.05 < errors.min() <= errors.max() < 0.15
    assert 0.0 < moves.min() <= moves.max() < 0.1


@cache
def ring_maps() -> tuple[float, list[tuple[object, object]]]:
    """Ten maps at the default V1's scale (16,384 units on the 36.75 mm sheet, 30 degrees of
    scatter) whose spectrum is a ring at Lambda 6.3 mm with a width of 10 % of its
    wavenumber, as wide as the default model's peak: the truth the interval is for (the peak
    of the maps' expected spectrum, from the mean spectrum of 30 maps) and each of the ten
    maps' spectrum and interval."""
    spacing, width = 6.3, 0.1 * 2 * np.pi / 6.3
    rng = np.random.default_rng(21)
    positions = random_positions(16_384, seed=30)
    grid = _SpectrumGrid(positions, _unit_spacing(SHEET_EDGE_MM**2, len(positions)))
    spectra = [
        map_spectrum(
            positions,
            ring_spectrum_orientations(
                positions, spacing, width, scatter_rad=np.deg2rad(30.0), rng=rng
            ),
            spacing_mm=_unit_spacing(SHEET_EDGE_MM**2, len(positions)),
            grid=grid,
        )
        for _ in range(30)
    ]
    truth = expected_column_spacing(spectra, grid.last)
    maps = [
        (s, column_spacing_interval(positions, s, SHEET_EDGE_MM**2, seed=seed))
        for seed, s in enumerate(spectra[:10])
    ]
    return truth, maps


def test_ring_maps_peak_at_their_lambda_and_as_wide_as_their_ring():
    """The simulated maps the interval rests on: a peak near Lambda (within 3 %), neighbour
    coherence about exp(-4 s^2) = 0.33 for 30 degrees of scatter, and a wider ring gives a
    wider peak."""
    truth, maps = ring_maps()
    spectra = [spectrum for spectrum, _ in maps]
    assert np.mean([s.column_spacing_mm for s in spectra]) == pytest.approx(6.3, rel=0.03)
    assert truth == pytest.approx(6.3, rel=0.03)  # taking the phase moves the peak a little
    assert np.mean([s.coherence for s in spectra]) == pytest.approx(
        np.exp(-4 * np.deg2rad(30) ** 2), abs=0.05
    )
    positions = random_positions(16_384, seed=30)
    spacing_mm = _unit_spacing(SHEET_EDGE_MM**2, len(positions))
    rng = np.random.default_rng(0)
    widths = [
        np.mean(
            [
                map_spectrum(
                    positions,
                    ring_spectrum_orientations(positions, 6.3, w, rng=rng),
                    spacing_mm=spacing_mm,
                ).peak_width_per_mm
                for _ in range(4)
            ]
        )
        for w in (0.02, 0.1, 0.2)
    ]
    assert widths[0] < widths[1] < widths[2]


def test_column_spacing_interval_covers_lambda_and_is_as_wide_as_the_spread_across_maps():
    """On ten maps of known spectrum with the default model's peak width, the interval covers
    the truth in at least 8 (95 % nominal), and its standard error matches the spread of the
    estimates across the maps (0.6 to 1.6 times: ten maps)."""
    truth, maps = ring_maps()
    assert sum(i.low <= truth <= i.high for _, i in maps) >= 8
    errors = [(i.high - i.low) / (2 * 1.96) for _, i in maps]
    spread = np.std([s.column_spacing_mm for s, _ in maps], ddof=1)
    assert 0.6 < np.mean(errors) / spread < 1.6


def test_a_barely_peaked_map_gets_no_column_spacing_interval():
    """784 units, Lambda 3.5 mm, 20 degrees of scatter: the peak clears the floor (4.3x, the
    threshold is 4) but maps simulated like it mostly do not, so Lambda is reported without an
    interval rather than with one from the few simulations that peak (and without warnings)."""
    band_map = BandLimitedMap.random(3.5, SHEET_EDGE_MM, seed=0)
    positions = random_positions(784, seed=10)
    orientations = noisy_orientations(band_map, positions, 20.0, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = detect_pinwheels(positions, orientations, sheet_edge_mm=SHEET_EDGE_MM)
    assert found.column_spacing_mm == pytest.approx(3.5, rel=0.02)
    assert found.spectrum.peak_to_floor < 5 and found.column_spacing_interval is None


def test_power_mode_is_exact_for_a_gaussian_lobe():
    """Lambda's estimator and its interval's truth read a spectrum's peak as the kernel mode
    of its excess power: for a Gaussian lobe that is its centre wherever it falls between
    rings (a centroid over the rings of a half-maximum lobe is not)."""
    wavenumbers = 0.0855 * np.arange(40)
    for centre in (0.97, 1.0, 1.03, 1.05):
        power = 1 + 50 * np.exp(-0.5 * ((wavenumbers - centre) / 0.15) ** 2)
        assert _power_mode(power, wavenumbers, 30) == pytest.approx(centre, rel=1e-9)
