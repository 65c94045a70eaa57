"""Layer maps from firing rates: a smooth orientation map, a planted category patch."""

import numpy as np
import pytest

from tdsnn_core.analysis.maps import category_maps, orientation_map, selectivity_peak
from tdsnn_core.analysis.stimuli import grating_set
from tdsnn_core.analysis.synthetic_maps import BandLimitedMap, uniform_positions

SHEET_MM = 36.75


def tuned_rates(gratings, preferred_deg: np.ndarray) -> np.ndarray:
    """Rates [n_gratings, N]: a von Mises bump around each unit's preferred orientation."""
    orientation = np.repeat(
        gratings.orientations_deg, len(gratings.images) // len(gratings.orientations_deg)
    )
    delta = np.deg2rad(2 * (orientation[:, None] - preferred_deg[None]))
    return np.exp(2.0 * (np.cos(delta) - 1))


def test_orientation_map_of_a_smooth_sheet_vs_shuffled():
    rng = np.random.default_rng(0)
    positions = rng.uniform(0, SHEET_MM, (4000, 2))
    preferred = (10.0 * positions[:, 0]) % 180  # 10 degrees per mm along x
    gratings = grating_set(8, 1, n_orientations=8, frequencies=[2.0], phases_deg=[0, 180])
    rates = tuned_rates(gratings, preferred)
    rates[:, :1000] *= 0.5  # weaker tuning range: these units are not analysed
    rates[:, :10] = 0.0  # silent units
    smooth = orientation_map(positions, rates, gratings, sheet_edge_mm=SHEET_MM, n_samples=3)
    assert smooth.analysed.sum() == round(0.25 * 3990)
    assert not smooth.analysed[:1000].any()
    circular_error = np.abs((smooth.tuning.preferred_orientation_deg - preferred + 90) % 180 - 90)
    assert np.median(circular_error[smooth.analysed]) < 1.0
    assert smooth.smoothness.score > 0.8
    assert smooth.pinwheels.count == 0  # a linear map has no singularity
    null = smooth.smoothness_null
    assert null.score.observed == pytest.approx(smooth.smoothness.score)
    assert null.score.null.shape == (200,) and null.score.percentile == 100.0
    # 10 degrees per mm over 36.75 mm covers every orientation about twice
    assert smooth.diversity.occupied_bins() == 8
    assert smooth.diversity.counts.sum() == smooth.analysed.sum()
    assert smooth.diversity.circular_variance > 0.9
    sheet_curve = smooth.sheet_curve
    assert sheet_curve.bin_edges[-1] > 40.0  # spans the sheet, not TDANN's 3.3 mm window
    # first bin [0, h]: 10 deg/mm * (2 / pi) * E[distance] = 10 * (2 / pi) * (2 / 3) h; the
    # map wraps every 18 mm, so over 10-36 mm pairs differ by 45 degrees on average (the
    # curve oscillates around it)
    first_bin_expected = 10.0 * 2 / np.pi * 2 / 3 * sheet_curve.bin_edges[1]
    assert sheet_curve.mean_curve[0] == pytest.approx(first_bin_expected, rel=0.1)
    far = (sheet_curve.bin_centres > 10) & (sheet_curve.bin_centres < SHEET_MM)
    assert sheet_curve.mean_curve[far].mean() == pytest.approx(45.0, abs=3.0)
    assert len(smooth.pinwheel_null.counts) == 20

    shuffled = orientation_map(
        positions, rates[:, rng.permutation(4000)], gratings, sheet_edge_mm=SHEET_MM, n_samples=3
    )
    assert shuffled.smoothness.score < 0.2
    low, high = shuffled.smoothness_null.score.interval
    assert low < shuffled.smoothness.score < high


def test_orientation_map_of_a_silent_layer_is_a_clear_error():
    gratings = grating_set(8, 1, n_orientations=4, frequencies=[2.0], phases_deg=[0])
    with pytest.raises(ValueError, match="tuned to the gratings"):
        orientation_map(np.random.rand(50, 2), np.zeros((4, 50)), gratings)


def test_untuned_units_get_no_preferred_orientation():
    """Responsive units with flat curves (vector mean 0, angle 0 by convention) are left out:
    with 10 % tuned units spread evenly, every bin holds 1/8, not 0 degrees the flat 15 %."""
    rng = np.random.default_rng(1)
    positions = rng.uniform(0, SHEET_MM, (4000, 2))
    gratings = grating_set(8, 1, n_orientations=8, frequencies=[2.0], phases_deg=[0, 180])
    rates = np.full((len(gratings.images), 4000), 0.3)  # responsive, flat
    rates[:, :400] = tuned_rates(gratings, np.arange(400) * 180.0 / 400)
    vmap = orientation_map(positions, rates, gratings, sheet_edge_mm=SHEET_MM, n_samples=2)
    assert vmap.analysed.sum() == 100 and not vmap.analysed[400:].any()
    np.testing.assert_allclose(vmap.diversity.fractions, 1 / 8, atol=0.02)


def test_pinwheels_are_counted_on_the_map_of_all_tuned_units():
    """TDANN counts pinwheels with its unit mask reset: the population's map. Here the quarter
    of units with the widest tuning range (the smoothness analysis's) prefer orientations at
    random, and the rest follow a band-limited map: its pinwheels are found, and its Lambda,
    though the analysed quarter alone has no map."""
    band_map = BandLimitedMap.random(6.3, SHEET_MM, seed=3)
    positions = uniform_positions(16_384, SHEET_MM, seed=4)
    preferred = band_map.orientation_deg(positions)
    strong = np.random.default_rng(5).permutation(16_384)[:4096]
    preferred[strong] = np.random.default_rng(6).uniform(0, 180, 4096)
    gratings = grating_set(8, 1, n_orientations=8, frequencies=[2.0], phases_deg=[0, 180])
    rates = tuned_rates(gratings, preferred)
    rates[:, strong] *= 2.0  # the widest tuning range: the analysed quarter

    vmap = orientation_map(positions, rates, gratings, sheet_edge_mm=SHEET_MM, n_samples=2)

    assert np.array_equal(np.flatnonzero(vmap.analysed), np.sort(strong))
    assert vmap.smoothness_null.score.percentile < 95  # the analysed quarter: no map
    wheels = vmap.pinwheels
    assert wheels.resolvable and wheels.column_spacing_mm == pytest.approx(6.3, rel=0.05)
    assert wheels.count == pytest.approx(band_map.pinwheel_count(), rel=0.15)
    low, high = wheels.density_interval.low, wheels.density_interval.high
    assert low < wheels.density < high and high - low > 0.2
    assert vmap.pinwheel_null.resolvable_fraction == 0.0


@pytest.fixture(scope="module")
def planted():
    """IT sheet (70 mm) where the units within 10 mm of (20, 45) prefer faces (label 0)."""
    rng = np.random.default_rng(1)
    positions = rng.uniform(0, 70, (3000, 2))
    labels = np.repeat(np.arange(3), 30)
    rates = rng.gamma(2.0, 0.1, (len(labels), len(positions)))
    inside = np.linalg.norm(positions - [20, 45], axis=1) < 10
    rates[np.ix_(labels == 0, inside)] += 0.3
    return positions, rates, labels, inside


def test_planted_face_patch_is_found_in_place(planted):
    positions, rates, labels, inside = planted
    maps = category_maps(positions, rates, labels, ("faces", "bodies", "places"), n_samples=2)
    faces = maps.patches["faces"]
    assert faces.count == 1
    np.testing.assert_allclose(faces.centroids_mm[0], [20, 45], atol=2.0)
    assert faces.areas_mm2[0] == pytest.approx(np.pi * 10**2, rel=0.3)
    assert maps.patches["bodies"].count == 0 and maps.patches["places"].count == 0  # empty
    np.testing.assert_allclose(selectivity_peak(maps, "faces"), [20, 45], atol=2.0)
    assert np.all(np.isfinite(selectivity_peak(maps, "bodies")))  # t-map peak fallback
    assert maps.t_values["faces"][inside].mean() > 5
    assert maps.overlaps["faces-bodies"] < 0  # bodies look unselective where faces win
    assert set(maps.overlaps) == {"faces-bodies", "faces-places", "bodies-places"}
    assert maps.smoothness["faces"].score > 0.5
    face_smoothness = maps.smoothness_null["faces"].score  # vs t-values shuffled across units
    assert face_smoothness.observed == pytest.approx(maps.smoothness["faces"].score)
    assert face_smoothness.null.shape == (100,) and face_smoothness.p_greater == 1 / 101
    assert face_smoothness.interval[1] < 0.2
    assert set(maps.overlap_null) == set(maps.overlaps)
    for pair, overlap in maps.overlap_null.items():
        assert overlap.observed == pytest.approx(maps.overlaps[pair])
        assert overlap.null.shape == (100,)
        assert overlap.mean == pytest.approx(-0.5, abs=0.15)  # -1 / (C - 1), by construction
    # the planted patch makes the two other categories' maps alike (both low inside it):
    # a one-vs-rest effect against a null without any category structure
    assert maps.overlap_null["bodies-places"].p_two_sided == pytest.approx(1 / 101)
    for pair, overlap in maps.overlaps.items():  # a jackknife interval over the images
        interval = maps.overlap_interval(pair)
        assert interval.low < overlap == interval.estimate < interval.high
        assert maps.overlap_jackknife[pair].leave_outs.shape == (50,)  # 90 images in 50 groups
    faces = maps.smoothness_interval("faces")
    assert faces.estimate == maps.smoothness["faces"].score and faces.low > 0.4
    assert maps.smoothness_interval("bodies").high < faces.low  # bodies: the patch's shadow
    for jackknife in (maps.overlap_jackknife["faces-bodies"], maps.smoothness_jackknife["faces"]):
        same = (jackknife - jackknife).interval()  # a paired difference with itself
        assert (same.estimate, same.low, same.high) == (0.0, 0.0, 0.0)
    assert maps.patch_null["faces"].observed == 1 and maps.patch_null["faces"].interval[1] == 0
    assert maps.patch_null["faces"].p_greater == pytest.approx(1 / 101)
    assert maps.patch_null["bodies"].observed == 0


def test_unstructured_category_maps_sit_inside_their_smoothness_null():
    rng = np.random.default_rng(3)
    positions = rng.uniform(0, 70, (2000, 2))  # the IT sheet: every 3 mm bin to 60 mm filled
    labels = np.repeat(np.arange(3), 30)
    rates = rng.gamma(2.0, 0.1, (len(labels), len(positions)))  # no category structure
    maps = category_maps(positions, rates, labels, ("faces", "bodies", "places"), n_samples=2)
    for null in maps.smoothness_null.values():
        assert 2.5 < null.score.percentile < 97.5 and abs(null.score.observed) < 0.2


def test_category_map_edge_cases(planted):
    positions, rates, labels, _ = planted
    with pytest.raises(ValueError, match="at least 2 categories"):
        category_maps(positions, rates, np.zeros_like(labels), ("faces",))
    with pytest.raises(ValueError, match="no unit"):
        category_maps(positions, np.zeros_like(rates), labels, ("a", "b", "c"))
    rates = rates.copy()
    rates[:, :100] = 0.0  # silent units get t = 0, everything stays finite
    maps = category_maps(positions, rates, labels, ("faces", "bodies", "places"), n_samples=1)
    assert all(np.isfinite(t).all() for t in maps.t_values.values())


def test_identical_responses_give_flat_maps_without_overlap(planted):
    positions, rates, labels, _ = planted
    same = np.full(rates.shape, 0.5)  # every image evokes the same rates
    maps = category_maps(positions, same, labels, ("faces", "bodies", "places"), n_samples=1)
    assert all(np.all(t == 0) for t in maps.t_values.values())
    assert set(maps.overlaps.values()) == {None}
    assert set(maps.overlap_null.values()) == {None}
    assert {maps.overlap_interval(pair) for pair in maps.overlaps} == {None}
    assert all(p.count == 0 for p in maps.patches.values())
    assert all(n.null.max() == 0 for n in maps.patch_null.values())
