"""Temporal dynamics against answers known by construction (the hand-wired PatchNet fires
its class's two units at every step and nothing else)."""

import numpy as np
import pytest
import torch
from analysis_models import N_CLASSES, patch_images, patch_sheet

from tdsnn_core.experiments.temporal import (
    fisher_information,
    fisher_intervals,
    mean_entropy_interval,
    mean_word_entropy,
    raw_and_shifted_r_ccg,
    resampled_word_entropy,
    spike_words,
    spiking_statistics,
    synchrony_curve,
    synchrony_vs_distance,
    timestep_sweep,
    word_entropy,
)


def test_word_entropy_known_values():
    spikes = np.zeros((3, 8, 4), dtype=np.uint8)  # [T, images, units]
    for image in range(8):  # unit 1: 8 distinct words -> 3 bits
        spikes[:, image, 1] = [(image >> bit) & 1 for bit in range(3)]
    spikes[0, :4, 2] = 1  # unit 2: two equally likely words -> 1 bit
    spikes[:, :, 3] = 1  # unit 3: always the same word -> 0 bits (like unit 0, silent)
    np.testing.assert_allclose(word_entropy(spikes), [0.0, 3.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="cannot be packed"):
        word_entropy(np.zeros((63, 2, 1)))


def test_rates_entropy_and_accuracy_per_timestep(patchnet):
    images, labels = patch_images()
    stats = timestep_sweep(patchnet, images, labels, [1, 4, 6])
    assert [s.timesteps for s in stats] == [1, 4, 6]
    one_of_three = -(1 / 3 * np.log2(1 / 3) + 2 / 3 * np.log2(2 / 3))  # 0.918 bits
    for s in stats:
        assert s.accuracy == 100.0
        np.testing.assert_array_equal(s.correct, np.ones(len(labels), bool))
        np.testing.assert_allclose(s.rate_per_step["it"], np.full(s.timesteps, 1 / N_CLASSES))
        assert s.entropy_bits["it"] == pytest.approx(one_of_three)
        # each unit sends the all-ones word on its class's 4 images and 0 on the others
        all_ones = 2**s.timesteps - 1
        np.testing.assert_array_equal(s.words["it"][:, 0], np.repeat([all_ones, 0, 0], 4))
        only_class_0 = np.arange(4)  # a resample of class-0 images: every word the same
        assert resampled_word_entropy(s.words["it"], only_class_0[None]).tolist() == [0.0]


def test_per_image_correctness_follows_the_labels(patchnet):
    images, labels = patch_images()
    wrong = labels.copy()
    wrong[[0, 5, 9]] = (wrong[[0, 5, 9]] + 1) % N_CLASSES
    stats = spiking_statistics(patchnet, images, wrong)
    np.testing.assert_array_equal(np.flatnonzero(~stats.correct), [0, 5, 9])
    assert stats.accuracy == pytest.approx(100 * 9 / 12)


def test_spike_words_and_resampled_entropy():
    spikes = np.zeros((3, 4, 2), dtype=np.uint8)
    spikes[0, 1, 0] = spikes[2, 1, 0] = 1  # unit 0, image 1: bits 0 and 2 -> word 5
    spikes[1, 3, 0] = 1  # unit 0, image 3: word 2
    words = spike_words(spikes)
    assert words.dtype == np.uint8
    np.testing.assert_array_equal(words[:, 0], [0, 5, 0, 2])
    assert spike_words(np.zeros((9, 1, 1))).dtype == np.uint16
    # images 0, 0, 1, 3: unit 0 sends words 0, 0, 5, 2 -> p = (1/2, 1/4, 1/4): 1.5 bits;
    # images 1, 1, 3, 3: words 5, 5, 2, 2 -> 1 bit; unit 1 is silent (0 bits)
    draws = np.array([[0, 0, 1, 3], [1, 1, 3, 3], [0, 2, 0, 2]])
    np.testing.assert_allclose(resampled_word_entropy(words, draws), [0.75, 0.5, 0.0])
    assert mean_word_entropy(words) == pytest.approx(word_entropy(spikes).mean())


def test_resampled_entropy_matches_entropy_of_the_resampled_spikes():
    """Slow reference: word_entropy of the spikes of each resample, image by image."""
    rng = np.random.default_rng(4)
    spikes = (rng.random((5, 40, 30)) < 0.3).astype(np.uint8)
    draws = rng.integers(0, 40, (6, 40))
    expected = [word_entropy(spikes[:, draw]).mean() for draw in draws]
    np.testing.assert_allclose(resampled_word_entropy(spike_words(spikes), draws), expected)


def test_unlabelled_statistics_have_no_accuracy(patchnet):
    images, _ = patch_images()
    stats = spiking_statistics(patchnet, images)
    assert stats.accuracy is None and stats.accuracy_interval() is None


def test_accuracy_interval_has_the_binomial_width(patchnet):
    images, labels = patch_images(per_class=30)
    wrong = labels.copy()
    wrong[::4] = (wrong[::4] + 1) % N_CLASSES  # 23 of 90 images misread: 74.4 %
    interval = spiking_statistics(patchnet, images, wrong).accuracy_interval()
    p = 1 - 23 / 90
    assert interval.estimate == pytest.approx(100 * p)
    half_width = 100 * 1.96 * np.sqrt(p * (1 - p) / 90)
    assert (interval.high - interval.low) / 2 == pytest.approx(half_width, rel=0.15)


def fake_statistics(spikes: dict[str, np.ndarray]):
    """SpikingStatistics of recorded spikes {layer: [T, images, units]}."""
    from tdsnn_core.experiments.temporal import SpikingStatistics

    return SpikingStatistics(
        timesteps=5,
        rate_per_step={},
        entropy_bits={n: mean_word_entropy(spike_words(s)) for n, s in spikes.items()},
        accuracy=None,
        correct=None,
        words={n: spike_words(s) for n, s in spikes.items()},
    )


def test_mean_entropy_interval_matches_a_slow_bootstrap():
    """Slow reference: the entropy of the explicitly resampled spikes, draw by draw, with
    the replicates centred on the estimate; a model minus itself is exactly 0."""
    rng = np.random.default_rng(8)
    spikes = {
        n: (rng.random((5, 60, 20)) < p).astype(np.uint8) for n, p in [("a", 0.2), ("b", 0.4)]
    }
    stats = fake_statistics(spikes)
    interval = mean_entropy_interval(stats, seed=3)

    draws = np.random.default_rng(3).integers(0, 60, (200, 60))  # intervals.resample's draws
    replicates = np.array(
        [np.mean([word_entropy(s[:, d]).mean() for s in spikes.values()]) for d in draws]
    )
    estimate = np.mean([word_entropy(s).mean() for s in spikes.values()])
    low, high = np.percentile(replicates + estimate - replicates.mean(), [2.5, 97.5])
    assert interval.estimate == pytest.approx(estimate)
    assert (interval.low, interval.high) == pytest.approx((low, high))
    same = mean_entropy_interval(stats, stats)
    assert (same.estimate, same.low, same.high) == (0.0, 0.0, 0.0)
    assert mean_entropy_interval(stats, fake_statistics({"c": spikes["a"]})) is None


def test_synchrony_is_one_within_a_patch_and_zero_across(patchnet):
    images, _ = patch_images()
    curve = synchrony_vs_distance(
        patchnet, images, patch_sheet(), window=1, n_bins=6, max_distance_mm=30.0
    )
    # the 3 pairs 1 mm apart (same class) fire identically; pairs of different classes
    # (9 to 21 mm apart) never co-fire; no pair is 25 mm or more apart
    np.testing.assert_allclose(curve.mean_r, [1.0, 0, 0, 0, 0, np.nan], atol=1e-5)
    np.testing.assert_array_equal(curve.pair_counts, [3, 2, 6, 1, 3, 0])
    # images come in class order, 4 per class: the partner's next image is of the same class
    # for 3 of the 4 images (r 3/4); two units of classes k and k+1 (mod 3) co-fire only
    # across a class boundary, in one of the two directions (r (1/4 + 0) / 2)
    np.testing.assert_allclose(curve.shift_r, [0.75, 1 / 8, 1 / 8, 1 / 8, 1 / 8, np.nan], atol=1e-5)
    np.testing.assert_allclose(curve.excess_r, curve.mean_r - curve.shift_r)


def test_synchrony_of_a_silent_layer_is_a_clear_error(patchnet):
    with pytest.raises(ValueError, match="synchrony needs at least 2"):
        synchrony_vs_distance(patchnet, torch.zeros(3, 1, 2, 2), patch_sheet())


def reference_r_ccg(a: np.ndarray, b: np.ndarray, window: int) -> float:
    """CCG of spike trains a, b [T, n_images] summed over lags -W..W, each lag's products
    averaged over the images and the T - |lag| valid steps (a slow loop)."""
    steps = len(a)
    total = 0.0
    for lag in range(-window, window + 1):
        pairs = [(t, t + lag) for t in range(steps) if 0 <= t + lag < steps]
        total += np.mean([a[t] * b[u] for t, u in pairs])
    return total


def test_shift_predictor_matches_a_slow_reference():
    rng = np.random.default_rng(0)
    spikes = (rng.random((5, 6, 4)) < rng.uniform(0.1, 0.7, 4)).astype(np.uint8)
    raw, shifted = raw_and_shifted_r_ccg(spikes, window=2)
    following = np.roll(spikes, -1, axis=1)  # the partner on the next image (mod n)
    for i in range(4):
        for j in range(4):
            if i == j:
                continue
            norm = np.sqrt(
                reference_r_ccg(spikes[..., i], spikes[..., i], 2)
                * reference_r_ccg(spikes[..., j], spikes[..., j], 2)
            )
            expected_shift = (
                reference_r_ccg(spikes[..., i], following[..., j], 2)
                + reference_r_ccg(spikes[..., j], following[..., i], 2)
            ) / 2
            assert raw[i, j] == pytest.approx(
                reference_r_ccg(spikes[..., i], spikes[..., j], 2) / norm
            )
            assert shifted[i, j] == pytest.approx(expected_shift / norm)
    assert np.all(np.diag(raw) == 0) and np.all(np.diag(shifted) == 0)
    with pytest.raises(ValueError, match="at least 2 images"):
        raw_and_shifted_r_ccg(spikes[:, :1], window=1)


LINE_MM = 20.0


def line_positions(n_units: int) -> np.ndarray:
    return np.column_stack([np.linspace(0, LINE_MM, n_units), np.zeros(n_units)])


def test_rates_shared_in_time_without_timing_leave_no_excess():
    """Independent spikes whose rate depends on the unit and the step (an onset transient
    shared by every image): raw r_CCG is high, all of it explained by the shift predictor."""
    rng = np.random.default_rng(1)
    n_units, n_images = 30, 600
    rate = np.array([0.9, 0.5, 0.3, 0.2])[:, None, None] * rng.uniform(0.6, 1.0, n_units)
    spikes = (rng.random((4, n_images, n_units)) < rate).astype(np.uint8)
    curve = synchrony_curve(spikes, line_positions(n_units), np.linspace(0, 10, 6), draws=100)
    assert np.all(curve.mean_r > 0.5)
    np.testing.assert_allclose(curve.excess_r, 0.0, atol=0.01)
    assert np.all((curve.excess_low < 0) & (curve.excess_high > 0))  # intervals hold the truth


def test_rates_covarying_across_images_stay_in_the_excess():
    """The predictor pairs different images, so rates that covary over images (every unit
    fires at p_b on image b, no timing) remain: expected excess for lags -1..1, T = 4:
    3 (mean p^2 - mean p_b p_b+1) / (mean p + 2 mean p^2)."""
    rng = np.random.default_rng(2)
    n_units, n_images = 30, 600
    p = rng.uniform(0.05, 0.6, n_images)
    spikes = (rng.random((4, n_images, n_units)) < p[:, None]).astype(np.uint8)
    curve = synchrony_curve(spikes, line_positions(n_units), np.linspace(0, 10, 6), draws=100)
    p_next = np.roll(p, -1)
    expected = 3 * (np.mean(p**2) - np.mean(p * p_next)) / (p.mean() + 2 * np.mean(p**2))
    assert expected > 0.05
    np.testing.assert_allclose(curve.excess_r, expected, atol=0.01)
    # the intervals hold the analytic excess, and exclude 0 (rates covary over images)
    assert np.all((curve.excess_low < expected) & (expected < curve.excess_high))
    assert np.all(curve.excess_low > 0)


def test_planted_synchrony_of_neighbours_decays_with_distance():
    """At each step of each image, Poisson events (mean 1.2, uniform over the line and its
    1.5 mm margins) make every unit within 1.5 mm fire together, plus sparse background:
    pairs closer than 3 mm share events at the same step; farther pairs see disjoint,
    hence independent, stretches of the Poisson process."""
    rng = np.random.default_rng(3)
    n_units, n_images, steps = 41, 300, 8
    x = np.linspace(0, LINE_MM, n_units)
    counts = rng.poisson(1.2, (steps, n_images))
    centres = rng.uniform(-1.5, LINE_MM + 1.5, (steps, n_images, counts.max()))
    real = np.arange(counts.max()) < counts[..., None]
    near = np.abs(x - centres[..., None]) < 1.5  # [steps, images, events, units]
    spikes = (near & real[..., None]).any(axis=2) | (rng.random((steps, n_images, n_units)) < 0.02)
    curve = synchrony_curve(
        spikes.astype(np.uint8), line_positions(n_units), np.arange(0, 11.0), draws=50
    )
    excess = curve.excess_r
    assert excess[0] > 0.3
    assert curve.excess_low[0] > 0.3 and curve.excess_low[0] < excess[0] < curve.excess_high[0]
    assert np.all(np.diff(excess[:4]) < 0)  # falls with distance ...
    np.testing.assert_allclose(excess[4:], 0.0, atol=0.02)  # ... to none beyond 3 mm
    assert np.ptp(curve.shift_r) < 0.03  # the predictor only sees the (uniform) rates


def test_synchrony_of_images_shown_twice_counts_once_when_grouped_by_source():
    """Every image duplicated: r_CCG is unchanged, and resampled by source the excess
    intervals are exactly those of the images shown once; resampled as independent images
    they come out narrower."""
    rng = np.random.default_rng(4)
    n_units, n_images = 20, 80
    p = rng.uniform(0.05, 0.6, n_images)
    spikes = (rng.random((4, n_images, n_units)) < p[:, None]).astype(np.uint8)
    twice = np.concatenate([spikes, spikes], axis=1)
    sources = np.tile(np.arange(n_images), 2)
    edges, positions = np.linspace(0, 10, 4), line_positions(n_units)
    once = synchrony_curve(spikes, positions, edges, draws=60)
    grouped = synchrony_curve(twice, positions, edges, draws=60, groups=sources)
    naive = synchrony_curve(twice, positions, edges, draws=60)
    np.testing.assert_allclose(grouped.excess_r, once.excess_r, atol=1e-12)
    np.testing.assert_allclose(grouped.excess_low, once.excess_low, atol=1e-12)
    np.testing.assert_allclose(grouped.excess_high, once.excess_high, atol=1e-12)
    assert np.mean(naive.excess_high - naive.excess_low) < 0.85 * np.mean(
        once.excess_high - once.excess_low
    )


def test_fisher_information_matches_the_analytic_readout_gradient(patchnet):
    """With the encoder frozen, only the readout (W, b) has gradients:
    ||d log p_y / d(W, b)||^2 = ||e_y - p||^2 (||s||^2 + 1), with s the mean spikes."""
    patchnet.encode.weight.requires_grad_(False)
    images, labels = patch_images(per_class=1)
    information = fisher_information(patchnet, images, labels)
    spikes = np.full(2, 1.0)  # the class's two units spike at every step: mean 1 each
    logits = np.array([2.0, 0.0, 0.0])
    p = np.exp(logits) / np.exp(logits).sum()
    expected = np.sum((np.eye(3)[0] - p) ** 2) * (spikes @ spikes + 1)
    np.testing.assert_allclose(information, np.full((len(images), 4), expected), rtol=1e-5)
    per_step = fisher_intervals(information)  # alike images: an interval as narrow as they
    assert [i.estimate for i in per_step] == pytest.approx([expected] * 4, rel=1e-5)
    assert all(i.high - i.low < 1e-5 * expected for i in per_step)


def test_fisher_interval_resamples_whole_sources():
    """Per-image values shown twice (two variants of each source): grouped by source, the
    interval is that of the values shown once; the mean is the plain mean."""
    values = np.random.default_rng(3).gamma(2.0, 5.0, (12, 3))
    once = fisher_intervals(values)
    twice = fisher_intervals(np.repeat(values, 2, axis=0), groups=np.repeat(np.arange(12), 2))
    for a, b, column in zip(once, twice, values.T, strict=True):
        assert a.estimate == pytest.approx(column.mean()) == pytest.approx(b.estimate)
        assert (a.low, a.high) == pytest.approx((b.low, b.high))
        assert a.low < column.mean() < a.high


def test_images_shown_twice_count_once_when_grouped_by_source():
    """Every image duplicated (two variants of one source): resampled by source, the entropy
    and accuracy intervals are exactly those of the images shown once; counted as independent
    images they come out narrower than they are."""
    from tdsnn_core.experiments.temporal import SpikingStatistics

    rng = np.random.default_rng(9)
    spikes = (rng.random((4, 50, 16)) < 0.3).astype(np.uint8)
    correct = rng.random(50) < 0.7
    twice = np.concatenate([spikes, spikes], axis=1)
    sources = np.tile(np.arange(50), 2)

    def statistics(s: np.ndarray, right: np.ndarray) -> SpikingStatistics:
        words = {"v1": spike_words(s)}
        return SpikingStatistics(
            timesteps=4,
            rate_per_step={},
            entropy_bits={"v1": mean_word_entropy(words["v1"])},
            accuracy=100.0 * right.mean(),
            correct=right,
            words=words,
        )

    once, doubled = statistics(spikes, correct), statistics(twice, np.tile(correct, 2))
    for grouped, alone in [
        (mean_entropy_interval(doubled, groups=sources), mean_entropy_interval(once)),
        (doubled.accuracy_interval(sources), once.accuracy_interval()),
    ]:
        assert (grouped.estimate, grouped.low, grouped.high) == pytest.approx(
            (alone.estimate, alone.low, alone.high)
        )
    naive = doubled.accuracy_interval()
    assert naive.high - naive.low < 0.8 * (
        once.accuracy_interval().high - once.accuracy_interval().low
    )
