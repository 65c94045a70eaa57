"""Bootstrap intervals against analytic answers: the normal-approximation standard errors of
a proportion and of a paired difference of Bernoullis, coverage over repeated samples, and
resampling of whole groups of variants."""

import time

import numpy as np
import pytest

from tdsnn_core.analysis.intervals import (
    Interval,
    bootstrap_interval,
    correlation_jackknife_interval,
    jackknife_interval,
    paired_difference,
)

Z95 = 1.959964


def half_width(interval: Interval) -> float:
    return (interval.high - interval.low) / 2


def paired_scores(counts: dict[tuple[int, int], int]) -> tuple[np.ndarray, np.ndarray]:
    """Per-image correctness (0/100) of two models from counts of (a correct, b correct)."""
    pairs = np.concatenate([np.tile(pair, (n, 1)) for pair, n in counts.items()])
    return 100.0 * pairs[:, 0], 100.0 * pairs[:, 1]


def test_accuracy_interval_matches_the_binomial_standard_error():
    correct = 100.0 * (np.arange(400) < 280)  # 70 % of 400 images
    interval = bootstrap_interval(correct)
    assert interval.estimate == pytest.approx(70.0)
    assert interval.low < 70.0 < interval.high and interval.level == 0.95
    se = 100 * np.sqrt(0.7 * 0.3 / 400)
    assert half_width(interval) == pytest.approx(Z95 * se, rel=0.1)


def test_paired_difference_matches_the_paired_standard_error():
    # 256 images: both right 150, only a right 40, only b right 15, both wrong 51
    a, b = paired_scores({(1, 1): 150, (1, 0): 40, (0, 1): 15, (0, 0): 51})
    n, p10, p01 = 256, 40 / 256, 15 / 256
    interval = paired_difference(a, b)
    assert interval.estimate == pytest.approx(100 * (p10 - p01))
    se_paired = 100 * np.sqrt((p10 + p01 - (p10 - p01) ** 2) / n)
    assert half_width(interval) == pytest.approx(Z95 * se_paired, rel=0.1)
    assert interval.excludes_zero
    # pairing matters: treating the two accuracies as independent gives a wider interval
    pa, pb = a.mean() / 100, b.mean() / 100
    se_unpaired = 100 * np.sqrt((pa * (1 - pa) + pb * (1 - pb)) / n)
    assert half_width(interval) < 0.8 * Z95 * se_unpaired


def test_equal_models_and_small_differences_do_not_exclude_zero():
    a, b = paired_scores({(1, 1): 200, (1, 0): 6, (0, 1): 4, (0, 0): 46})
    assert not paired_difference(a, b).excludes_zero
    same = paired_difference(a, a)
    assert (same.estimate, same.low, same.high) == (0.0, 0.0, 0.0) and not same.excludes_zero
    assert Interval(-3.0, -5.0, -1.0, 0.95).excludes_zero


def test_paired_intervals_cover_the_true_difference():
    rng = np.random.default_rng(0)
    n, p_a, p_b, trials = 256, 0.8, 0.72, 300
    covered = 0
    for seed in range(trials):
        a = 100.0 * (rng.random(n) < p_a)
        b = 100.0 * (rng.random(n) < p_b)
        interval = paired_difference(a, b, n_draws=1000, seed=seed)
        covered += interval.low <= 100 * (p_a - p_b) <= interval.high
    assert 0.91 <= covered / trials <= 0.985


def test_groups_are_resampled_whole():
    values = 100.0 * (np.random.default_rng(1).random(128) < 0.6)
    doubled = np.repeat(values, 2)
    alone = bootstrap_interval(values)
    together = bootstrap_interval(doubled, groups=np.repeat(np.arange(128), 2))
    # copies carry no information: resampling pairs gives the interval of the originals
    assert (together.low, together.high) == pytest.approx((alone.low, alone.high))
    # counting the copies as independent images wrongly narrows it by about sqrt(2)
    naive = bootstrap_interval(doubled)
    assert half_width(naive) == pytest.approx(half_width(alone) / np.sqrt(2), rel=0.15)


def test_fast_seeded_and_checked():
    a, b = paired_scores({(1, 1): 180, (1, 0): 30, (0, 1): 20, (0, 0): 26})
    start = time.perf_counter()
    first = paired_difference(a, b, n_draws=2000)
    assert time.perf_counter() - start < 1.0
    assert paired_difference(a, b, n_draws=2000) == first  # fixed seed
    with pytest.raises(ValueError, match="same images"):
        paired_difference(a, b[:-1])
    with pytest.raises(ValueError, match="one group per image"):
        bootstrap_interval(a, groups=np.arange(3))
    with pytest.raises(ValueError, match="level"):
        bootstrap_interval(a, level=95)
    with pytest.raises(ValueError, match="non-empty"):
        bootstrap_interval(np.zeros(0))


def test_correlation_jackknife_stays_inside_minus_one_to_one():
    leave_outs = 0.93 + 0.0005 * np.random.default_rng(0).normal(size=200)  # se about 0.007
    interval = correlation_jackknife_interval(0.93, leave_outs)
    assert interval.estimate == 0.93 and 0.9 < interval.low < 0.93 < interval.high < 1.0
    plain = jackknife_interval(0.93, leave_outs)  # r's own scale: the bounds nearly agree
    assert interval.high - interval.low == pytest.approx(plain.high - plain.low, rel=0.1)
    spread = 0.99 + 0.003 * np.random.default_rng(1).normal(size=50)  # se about 0.02
    wide = correlation_jackknife_interval(0.99, spread)
    assert -1.0 < wide.low < 0.99 < wide.high < 1.0 < jackknife_interval(0.99, spread).high
