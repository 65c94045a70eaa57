"""Category t-values, t-maps, patches and overlap on planted selectivity."""

import numpy as np
import pytest
from scipy import stats

from tdsnn_core.analysis.category import (
    TMap,
    find_patches,
    half_sample_t_values,
    half_sample_weights,
    jackknife_groups,
    label_permutation_null,
    leave_out_t_values,
    overlap_leave_outs,
    patch_area_limits,
    patch_counts,
    smoothed_t_map,
    t_map_correlation,
    welch_t,
    welch_t_by_category,
)
from tdsnn_core.analysis.intervals import Jackknife, count_interval
from tdsnn_core.analysis.nulls import NullComparison
from tdsnn_core.analysis.smoothness import PooledPairs, category_distance_bin_edges

SHEET_EDGE_MM = 70.0
N_UNITS = 20_000
LABELS = np.repeat(np.arange(5), 20)  # 5 categories x 20 images


def sheet(seed=0):
    return np.random.default_rng(seed).uniform(0, SHEET_EDGE_MM, (N_UNITS, 2))


def responses_with_discs(positions, discs, seed=1):
    """Unit noise; units inside disc (x, y, radius, category) respond +1 to that category,
    which gives them t of about 1 / sqrt(1/20 + 1/80) = 4, twice the patch threshold."""
    rng = np.random.default_rng(seed)
    responses = rng.normal(size=(len(LABELS), len(positions)))
    for x, y, radius, category in discs:
        inside = np.hypot(positions[:, 0] - x, positions[:, 1] - y) < radius
        responses[np.ix_(category == LABELS, inside)] += 1.0
    return responses


def test_welch_t_matches_scipy():
    rng = np.random.default_rng(2)
    labels = np.array(["face"] * 12 + ["body"] * 7 + ["place"] * 9)
    responses = rng.gamma(2.0, size=(len(labels), 30)) * rng.uniform(0.5, 3, 30)
    responses[labels == "face"] *= 1.5

    expected = stats.ttest_ind(
        responses[labels == "face"], responses[labels != "face"], equal_var=False
    ).statistic
    np.testing.assert_allclose(welch_t(responses, labels, "face"), expected)
    by_category = welch_t_by_category(responses, labels)
    assert list(by_category) == ["body", "face", "place"]
    for category, t in by_category.items():
        inside = labels == category
        reference = stats.ttest_ind(responses[inside], responses[~inside], equal_var=False)
        np.testing.assert_allclose(t, reference.statistic)


def test_welch_t_edge_cases():
    responses = np.zeros((6, 3))
    np.testing.assert_array_equal(welch_t(responses, np.array([0, 0, 0, 1, 1, 1]), 0), 0.0)
    with pytest.raises(ValueError, match="at least 2"):
        welch_t(responses, np.zeros(6), 0)  # a single category
    with pytest.raises(ValueError, match="at least 2"):
        welch_t(responses, np.array([0, 0, 0, 1, 1, 1]), 7)  # absent category
    with pytest.raises(ValueError, match="labels"):
        welch_t(responses, np.zeros(5), 0)


def test_planted_disc_is_found_with_its_centre_and_area():
    positions = sheet()
    responses = responses_with_discs(positions, [(25.0, 40.0, 10.0, 0)])

    patches = find_patches(smoothed_t_map(positions, welch_t(responses, LABELS, 0)))

    assert patches.count == 1
    np.testing.assert_allclose(patches.centroids_mm[0], [25.0, 40.0], atol=1.0)
    assert patches.areas_mm2[0] == pytest.approx(np.pi * 10.0**2, rel=0.15)
    assert patches.unit_counts[0] == pytest.approx(N_UNITS * np.pi * 100 / 70**2, rel=0.2)
    assert patches.masks.shape == (1, 100, 100)
    assert patches.masks[0].sum() * (70 / 100) ** 2 == pytest.approx(patches.areas_mm2[0], rel=0.02)


def test_no_selectivity_gives_no_patch():
    positions = sheet()
    t_map = smoothed_t_map(positions, welch_t(responses_with_discs(positions, []), LABELS, 0))
    patches = find_patches(t_map)
    assert patches.count == 0
    assert patches.masks.shape == (0, 100, 100)
    assert patches.centroids_mm.shape == (0, 2)


def test_area_and_unit_limits_filter_patches():
    positions = sheet()
    small_disc = responses_with_discs(positions, [(35.0, 35.0, 4.0, 0)])  # ~50 mm^2 < 100
    t_map = smoothed_t_map(positions, welch_t(small_disc, LABELS, 0))
    assert find_patches(t_map).count == 0
    assert find_patches(t_map, area_limits_mm2=(10.0, 4500.0)).count == 1
    assert find_patches(t_map, area_limits_mm2=(10.0, 4500.0), min_units=10**6).count == 0


def test_area_limits_scale_with_sheet_area():
    assert patch_area_limits(70.0**2) == pytest.approx((100.0, 4500.0))
    assert patch_area_limits(35.0**2) == pytest.approx((25.0, 1125.0))


def test_overlap_of_t_maps():
    positions = sheet()
    discs = [(20.0, 20.0, 10.0, 0), (20.0, 20.0, 10.0, 1), (50.0, 50.0, 10.0, 2)]
    t_by_category = welch_t_by_category(responses_with_discs(positions, discs), LABELS)
    maps = {c: smoothed_t_map(positions, t) for c, t in t_by_category.items()}

    assert t_map_correlation(maps[0], maps[1]) > 0.9
    assert t_map_correlation(maps[0], maps[2]) < 0.0
    rescaled = TMap(maps[0].grid, 3 * maps[0].values + 1, maps[0].unit_counts)
    assert t_map_correlation(maps[0], rescaled) == pytest.approx(1.0)


def test_overlap_of_a_constant_map_is_an_error():
    positions = sheet()
    flat = smoothed_t_map(positions, np.zeros(N_UNITS))
    with pytest.raises(ValueError, match="constant"):
        t_map_correlation(flat, flat)


def test_welch_t_is_zero_for_constant_units_despite_rounding():
    responses = np.full((90, 3), 0.1) * np.array([1.0, 3.0, 7.0])  # 0.1 is inexact in binary
    labels = np.arange(90) % 3
    np.testing.assert_array_equal(welch_t(responses, labels, 1), 0.0)


def small_sheet_responses(discs, n_units=3000, seed=3):
    positions = np.random.default_rng(seed).uniform(0, SHEET_EDGE_MM, (n_units, 2))
    return positions, responses_with_discs(positions, discs, seed=seed + 1)


def test_permutation_null_matches_recomputing_each_permutation():
    """Slow reference: the null's permutations (the same generator) redone one by one with
    welch_t_by_category, smoothed_t_map, t_map_correlation and find_patches."""
    positions, responses = small_sheet_responses([(20.0, 20.0, 10.0, 0)])
    null = label_permutation_null(positions, responses, LABELS, n_permutations=5, seed=9)
    rng = np.random.default_rng(9)
    for p in range(5):
        t = welch_t_by_category(responses, rng.permutation(LABELS))
        maps = [smoothed_t_map(positions, t[c]) for c in range(5)]
        for a in range(5):
            assert null.patch_counts[p, a] == find_patches(maps[a]).count
            for b in range(a + 1, 5):
                expected = t_map_correlation(maps[a], maps[b])
                assert null.correlations[p, a, b] == pytest.approx(expected, abs=1e-10)
                assert null.correlations[p, b, a] == pytest.approx(expected, abs=1e-10)
    assert null.categories == (0, 1, 2, 3, 4)


def overlap_of(positions, responses, a, b, n_permutations=100):
    t = welch_t_by_category(responses, LABELS)
    observed = t_map_correlation(smoothed_t_map(positions, t[a]), smoothed_t_map(positions, t[b]))
    null = label_permutation_null(positions, responses, LABELS, n_permutations=n_permutations)
    return NullComparison.of(observed, null.correlations[:, a, b])


def test_independent_categories_anticorrelate_yet_sit_inside_their_null():
    """One-vs-rest t of C equal categories correlate -1 / (C - 1) = -0.25 by construction."""
    positions, responses = small_sheet_responses([])
    overlap = overlap_of(positions, responses, 0, 1)
    assert overlap.observed < 0
    assert overlap.mean == pytest.approx(-0.25, abs=0.05)
    assert overlap.interval[0] < overlap.observed < overlap.interval[1]
    assert overlap.p_two_sided > 0.05


def test_planted_shared_selectivity_lies_outside_the_null():
    positions, responses = small_sheet_responses([(30.0, 30.0, 12.0, 0), (30.0, 30.0, 12.0, 1)])
    overlap = overlap_of(positions, responses, 0, 1)
    assert overlap.observed > overlap.interval[1]
    assert overlap.percentile == 100.0 and overlap.p_two_sided == pytest.approx(1 / 101)


def test_leave_outs_match_recomputing_without_each_group():
    """Slow reference: the t-values and maps redone from scratch with a group deleted."""
    positions, responses = small_sheet_responses([(30.0, 30.0, 12.0, 0)], n_units=400)
    groups = jackknife_groups(100, n_groups=20, seed=4)
    assert np.bincount(groups).tolist() == [5] * 20
    t_leave_outs = leave_out_t_values(responses, LABELS, groups)
    correlations = overlap_leave_outs(positions, t_leave_outs)
    assert t_leave_outs.shape == (20, 5, 400) and correlations.shape == (20, 5, 5)
    for group in (0, 7, 19):
        kept = groups != group
        t = welch_t_by_category(responses[kept], LABELS[kept])
        np.testing.assert_allclose(t_leave_outs[group], np.stack(list(t.values())), atol=1e-9)
        maps = [smoothed_t_map(positions, t[c]) for c in range(5)]
        for a, b in ((0, 1), (2, 4)):
            expected = t_map_correlation(maps[a], maps[b])
            assert correlations[group, a, b] == pytest.approx(expected, abs=1e-10)
    few = np.r_[np.zeros(97), 1, 1, 1]  # leaving out a group can leave one image of category 1
    assert leave_out_t_values(responses, few, np.arange(100) // 2) is None  # 98, 99 together
    assert leave_out_t_values(responses, few, np.arange(100) % 3) is not None  # all apart


def planted_draw(labels, positions, discs, effect):
    """Image sets by seed: unit noise plus ``effect`` inside each disc for its category."""

    def draw(seed):
        rng = np.random.default_rng(seed)
        responses = rng.normal(size=(len(labels), len(positions)))
        for x, y, radius, category in discs:
            inside = np.hypot(positions[:, 0] - x, positions[:, 1] - y) < radius
            responses[np.ix_(labels == category, inside)] += effect
        return responses

    return draw


def jackknife_coverage(draw, labels, full, from_leave_outs, interval, n_truth, n_sets):
    """How often the 95 % jackknife interval of each value of a statistic (``full`` of an
    image set; ``from_leave_outs`` of its leave-out t-values, [groups, values]) covers that
    value's mean over ``n_truth`` independent image sets, in ``n_sets`` sets."""
    truth = np.mean([full(draw(1000 + seed)) for seed in range(n_truth)], axis=0)
    covered = np.zeros(len(truth), dtype=int)
    for seed in range(n_sets):
        responses = draw(seed)
        groups = jackknife_groups(len(labels), seed=seed)
        replicates = from_leave_outs(leave_out_t_values(responses, labels, groups))
        for k, observed in enumerate(full(responses)):
            found = interval(Jackknife(observed, replicates[:, k]))
            covered[k] += found.low <= truth[k] <= found.high
    return covered


def test_overlap_jackknife_covers_its_truth():
    """Three categories (100, 60, 40 images) whose planted discs overlap: the 95 % jackknife
    interval of two overlaps covers their mean over 100 independent image sets in at least
    15 of 16 sets each (at the probe set's scale: 88 of 90, 1.1-2.5x wider than the spread
    across sets, the widest where the maps are mostly noise)."""
    labels = np.repeat(np.arange(3), [100, 60, 40])
    positions = np.random.default_rng(0).uniform(0, SHEET_EDGE_MM, (500, 2))
    discs = [(30.0, 30.0, 12.0, 0), (38.0, 30.0, 12.0, 1), (50.0, 50.0, 10.0, 2)]
    first, second = [0, 1], [1, 2]  # the two pairs

    def overlaps(responses):
        t = welch_t_by_category(responses, labels)
        maps = [smoothed_t_map(positions, t[c]) for c in range(3)]
        return [t_map_correlation(maps[a], maps[b]) for a, b in zip(first, second, strict=True)]

    covered = jackknife_coverage(
        planted_draw(labels, positions, discs, 0.7),
        labels,
        overlaps,
        lambda t: overlap_leave_outs(positions, t)[:, first, second],
        Jackknife.correlation_interval,
        n_truth=100,
        n_sets=16,
    )
    assert covered.min() >= 15


def test_category_smoothness_jackknife_covers_its_truth():
    """Each category's smoothness (TDANN's score on its t-values): the 95 % jackknife interval
    covers the mean score over 60 independent image sets in at least 11 of 12 sets per
    category (at the probe set's scale: 98 of 100, 1.3-2.1x wider than the spread)."""
    labels = np.repeat(np.arange(3), [100, 60, 40])
    positions = np.random.default_rng(1).uniform(0, SHEET_EDGE_MM, (600, 2))
    discs = [(20.0, 45.0, 12.0, 0), (45.0, 20.0, 14.0, 1), (50.0, 50.0, 10.0, 2)]
    pairs = PooledPairs.sampled(positions, category_distance_bin_edges(), 20, 1000, 0)

    def scores(t_maps):  # [..., N] -> [...]
        return pairs.scores(t_maps.reshape(-1, 600), None).reshape(t_maps.shape[:-1])

    covered = jackknife_coverage(
        planted_draw(labels, positions, discs, 0.5),
        labels,
        lambda responses: scores(np.stack(list(welch_t_by_category(responses, labels).values()))),
        scores,
        Jackknife.interval,
        n_truth=60,
        n_sets=12,
    )
    assert covered.min() >= 11


def test_half_samples_scatter_as_the_sample_does():
    """Each category keeps m = n // 2 images and its weights sum to n; the replicate means
    scatter about the sample's with variance s^2 / n (the sample mean's own), for even and
    odd n down to 2."""
    labels = np.repeat([0, 1, 2], [2, 5, 40])
    weights = half_sample_weights(labels, 40_000, seed=3)
    values = np.random.default_rng(4).normal(size=len(labels))
    for category, n in ((0, 2), (1, 5), (2, 40)):
        of = weights[:, labels == category]
        assert np.allclose(of.sum(axis=1), n)
        assert np.all(np.sum(of > 1, axis=1) == n // 2)  # the kept half
        means = of @ values[labels == category] / n
        expected = np.var(values[labels == category], ddof=1) / n
        assert np.var(means) == pytest.approx(expected, rel=0.03)
        assert np.mean(means) == pytest.approx(values[labels == category].mean(), abs=0.01)
    with pytest.raises(ValueError, match="at least 2 images"):
        half_sample_weights(np.r_[0, 1, 1], 5)


def test_half_sample_t_values_match_a_slow_reference():
    """Per replicate and category: the weighted category mean minus the weighted mean of the
    rest, over the sample's Welch standard error (scipy), image by image."""
    _, responses = small_sheet_responses([(30.0, 30.0, 12.0, 0)], n_units=60)
    responses[:, 5] = 1.0  # a constant unit: t = 0 in every replicate
    t = half_sample_t_values(responses, LABELS, n_replicates=7, seed=2)
    weights = half_sample_weights(LABELS, 7, seed=2)
    assert t.shape == (7, 5, 60)
    for r in range(7):
        for c, inside in enumerate(np.arange(5)[:, None] == LABELS[None]):
            rest = ~inside
            for unit in (0, 5, 17, 59):
                x = responses[:, unit]
                if np.ptp(x) == 0:  # no variance: scipy's t is NaN (with a warning)
                    assert t[r, c, unit] == 0
                    continue
                full = stats.ttest_ind(x[inside], x[rest], equal_var=False).statistic
                error = (x[inside].mean() - x[rest].mean()) / full
                shifted = (weights[r, inside] @ x[inside]) / inside.sum() - (
                    weights[r, rest] @ x[rest]
                ) / rest.sum()
                assert t[r, c, unit] == pytest.approx(shifted / error, rel=1e-9)


def test_patch_counts_of_a_stack_match_each_map():
    positions, responses = small_sheet_responses([(30.0, 30.0, 12.0, 0), (50.0, 50.0, 9.0, 1)])
    t = half_sample_t_values(responses, LABELS, n_replicates=3)
    counts = patch_counts(positions, t)
    assert counts.shape == (3, 5) and counts[:, 0].min() >= 1
    for r, c in ((0, 0), (1, 1), (2, 3)):
        assert counts[r, c] == find_patches(smoothed_t_map(positions, t[r, c])).count


def test_patch_count_interval_covers_the_median_count():
    """Three categories (100, 60, 40 images), faint discs at the edge of patch size: across
    40 independent image sets category 0 has 0 or 1 patch and category 2 0, 1 or 2. The 95 %
    interval from rescaled half-samples covers the median count in at least 11 of 12 sets per
    category, on average no wider than the counts' spread across sets (at the probe set's
    scale: 208 of 210 where the count varies)."""
    labels = np.repeat(np.arange(3), [100, 60, 40])
    positions = np.random.default_rng(2).uniform(0, SHEET_EDGE_MM, (600, 2))
    discs = [(20.0, 20.0, 9.0, 0), (45.0, 20.0, 12.0, 1), (50.0, 50.0, 12.0, 2), (20, 50, 11, 2)]
    draw = planted_draw(labels, positions, discs, 0.35)

    def counts(responses):
        return patch_counts(
            positions, np.stack(list(welch_t_by_category(responses, labels).values()))
        )

    truth = np.array([counts(draw(1000 + seed)) for seed in range(40)])
    assert 0.2 < np.mean(truth[:, 0]) < 0.8 and len(set(truth[:, 2])) == 3  # counts vary
    median = np.median(truth, axis=0)
    covered, widths = np.zeros(3, dtype=int), np.zeros((12, 3))
    for seed in range(12):
        responses = draw(seed)
        replicates = patch_counts(positions, half_sample_t_values(responses, labels, seed=seed))
        for k, count in enumerate(counts(responses)):
            interval = count_interval(count, replicates[:, k])
            covered[k] += interval.low <= median[k] <= interval.high
            widths[seed, k] = interval.high - interval.low
    assert covered.min() >= 11
    # no wider than the counts' own spread across image sets, plus 1 for whole counts
    assert np.all(np.mean(widths, axis=0) <= 3.92 * truth.std(axis=0) + 1)


def test_paired_patch_count_difference_covers_the_median_difference():
    """Two models measured on the same probe sets: the second responds as the first plus a
    faint disc of category 0, a second patch in about half the sets. The difference of their
    counts, with its interval over the same half-samples of both, covers the median
    difference over 30 independent sets in at least 7 of 8 sets."""
    labels = np.repeat(np.arange(3), [100, 60, 40])
    positions = np.random.default_rng(2).uniform(0, SHEET_EDGE_MM, (600, 2))
    first = planted_draw(labels, positions, [(45.0, 20.0, 12.0, 0), (50, 50, 12, 2)], 0.45)
    extra = np.hypot(positions[:, 0] - 20.0, positions[:, 1] - 20.0) < 9.0

    def both(seed):  # the two models' responses to one probe set
        responses = first(seed)
        second = responses.copy()
        second[np.ix_(labels == 0, extra)] += 0.35
        return responses, second

    def count(responses):  # category 0's patches
        return int(patch_counts(positions, welch_t_by_category(responses, labels)[0]))

    def replicates(responses, seed):
        return patch_counts(positions, half_sample_t_values(responses, labels, seed=seed)[:, 0])

    truth = [count(b) - count(a) for a, b in (both(1000 + seed) for seed in range(30))]
    assert len(set(truth)) > 1  # the difference varies across probe sets
    covered = 0
    for seed in range(8):
        a, b = both(seed)
        paired = replicates(b, seed) - replicates(a, seed)  # the same halves of both
        interval = count_interval(count(b) - count(a), paired, at_least=None)
        covered += interval.low <= np.median(truth) <= interval.high
    assert covered >= 7


def test_count_interval_is_whole_counts_around_the_count():
    assert count_interval(2, np.full(50, 2)).bounds == [2.0, 2.0]  # replicates agree: exact
    interval = count_interval(1, np.r_[np.zeros(50), np.ones(50)])  # sd 0.5: 1 +- 0.98
    assert interval.bounds == [0.0, 2.0] and interval.estimate == 1
    assert count_interval(0, np.r_[np.zeros(50), np.ones(50)]).low == 0  # never below 0
    difference = count_interval(0, np.r_[np.zeros(50), np.ones(50)], at_least=None)
    assert difference.bounds == [-1.0, 1.0]  # a difference of counts may be negative
    upper = count_interval(-1, np.r_[np.zeros(50), np.full(50, 0.5)], at_least=None).high
    assert upper == 0 and np.copysign(1.0, upper) == 1.0  # printed as +0, not -0
    with pytest.raises(ValueError, match="level"):
        count_interval(1, np.ones(3), level=1.0)


def test_patch_count_null_of_unselective_units_is_empty():
    positions, responses = small_sheet_responses([(30.0, 30.0, 12.0, 0)])
    null = label_permutation_null(positions, responses, LABELS, n_permutations=20)
    assert null.patch_counts.shape == (20, 5)
    assert null.patch_counts.max() == 0  # a permuted disc is noise: no patch anywhere
    t = welch_t(responses, LABELS, 0)
    assert find_patches(smoothed_t_map(positions, t)).count == 1


def test_permutation_null_input_checks():
    positions, responses = small_sheet_responses([], n_units=50)
    with pytest.raises(ValueError, match="one column per unit"):
        label_permutation_null(positions[:10], responses, LABELS)
    with pytest.raises(ValueError, match="at least 2"):
        label_permutation_null(positions, responses, np.r_[np.zeros(99), 1])


def test_probe_maps_count_each_source_once():
    """The service and tdsnn analyze share one recipe: 30 variants of each of 12 source
    images give the maps of the 12 images themselves, not of 360 independent ones."""
    import torch

    from tdsnn_core.analysis.maps import category_maps
    from tdsnn_core.analysis.probes import ProbeSet
    from tdsnn_core.experiments import probe_category_maps

    rng = np.random.default_rng(3)
    positions = rng.uniform(0, 20, (150, 2))
    rates = rng.random((12, 150))
    labels = np.repeat([0, 1, 2], 4)
    probes = ProbeSet(
        torch.zeros(360, 1, 4, 4),
        np.repeat(labels, 30),
        ("faces", "bodies", "places"),
        sources=np.repeat(np.arange(12), 30),
    )
    shared = {"n_permutations": 20, "seed": 0}
    variants = probe_category_maps(positions, np.repeat(rates, 30, axis=0), probes, **shared)
    images = category_maps(positions, rates, labels, probes.categories, **shared)
    for name in probes.categories:
        np.testing.assert_allclose(variants.t_values[name], images.t_values[name])
