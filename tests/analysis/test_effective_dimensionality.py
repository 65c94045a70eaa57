"""Effective dimensionality: the split-half estimator against a plainly written reference,
its bias and interval coverage on planted spectra at the probe set's scale and source
structure, its null, and the jackknife against the textbook standard error of a mean."""

import numpy as np
import pytest

from tdsnn_core.analysis import effective_dimensionality
from tdsnn_core.analysis.dimensionality import halvings
from tdsnn_core.analysis.intervals import jackknife_interval


def probe_like_sources() -> np.ndarray:
    """The source structure of the category probe set (2,000 images, 1,113 sources): 20 face
    sources of 20 variants, 5 place sources of 80, 112 sources of 2 and 976 single images."""
    sizes = [20] * 20 + [80] * 5 + [2] * 112 + [1] * 976
    return np.repeat(np.arange(len(sizes)), sizes)


def planted(sources: np.ndarray, n_units: int, alpha: float, seed: int):
    """Responses whose population covariance has the power-law spectrum k^-alpha, from
    heavy-tailed (Laplace) source latents plus skewed per-variant noise of the same spectrum
    (variants of one source correlate at 0.8); returns (responses, true ED)."""
    rng = np.random.default_rng(seed)
    variances = np.arange(1, n_units + 1.0) ** -alpha
    axes, _ = np.linalg.qr(rng.normal(size=(n_units, n_units)))
    mixing = axes * np.sqrt(variances)
    latents = rng.laplace(size=(sources.max() + 1, n_units)) / np.sqrt(2)
    noise = rng.exponential(size=(len(sources), n_units)) - 1.0
    responses = (latents[sources] + 0.5 * noise) @ mixing.T + rng.uniform(0, 5, n_units)
    return responses, variances.sum() ** 2 / (variances**2).sum()


def plug_in(responses: np.ndarray) -> float:
    """ED of the sample's own covariance (the biased estimate)."""
    eigenvalues = np.linalg.eigvalsh(np.cov(responses, rowvar=False))
    return eigenvalues.sum() ** 2 / (eigenvalues**2).sum()


def split_reference(responses, sources, in_a_by_source) -> float:
    """The split-half estimator written plainly: each half's covariance by np.cov."""
    numerator = denominator = 0.0
    for in_a in in_a_by_source:
        halves = (in_a[sources], ~in_a[sources])
        half_a, half_b = (np.cov(responses[m], rowvar=False) for m in halves)
        numerator += np.trace(half_a) * np.trace(half_b)
        denominator += np.trace(half_a @ half_b)
    return numerator / denominator


def test_estimate_and_leave_outs_match_a_plain_reference():
    rng = np.random.default_rng(3)
    sources = np.repeat(np.arange(14), rng.integers(1, 5, 14))
    responses = rng.normal(size=(len(sources), 9)) @ rng.normal(size=(9, 9)) + 3.0
    result = effective_dimensionality(responses, sources * 10, seed=5)  # ids need not be 0..g-1
    split = halvings(14, 4, seed=5)
    reference = split_reference(responses, sources, split)
    assert result.estimate.full == pytest.approx(reference, rel=1e-9)
    for left_out in (0, 6, 13):
        kept = sources != left_out
        reference = split_reference(responses[kept], sources[kept], split)
        assert result.estimate.leave_outs[left_out] == pytest.approx(reference, rel=1e-9)
    assert list(result.sources) == list(range(0, 140, 10)) and result.n_stimuli == len(sources)


def test_unbiased_and_covering_at_the_probe_sets_scale():
    """30 planted populations with the probe set's source structure: the estimate's mean is
    within 5 % of the truth, where the plug-in estimate is 15 % low; the 95 % interval covers
    the truth at least 25 times (measured 35 of 40 at 1,000 units)."""
    sources = probe_like_sources()
    ratios, plug_in_ratios, covered = [], [], 0
    for seed in range(30):
        responses, truth = planted(sources, 300, 1.0, seed)
        result = effective_dimensionality(responses, sources, seed=seed)
        interval = result.interval()
        ratios.append(interval.estimate / truth)
        covered += interval.low <= truth <= interval.high
        if seed < 3:
            plug_in_ratios.append(plug_in(responses) / truth)
    assert np.mean(ratios) == pytest.approx(1.0, abs=0.05)
    assert np.mean(plug_in_ratios) < 0.85
    assert covered >= 25


def test_null_is_the_dimensionality_of_independent_units():
    rng = np.random.default_rng(0)
    sources = np.arange(600)
    scales = rng.uniform(0.5, 2.0, 40)
    independent = rng.normal(size=(600, 40)) * scales
    truth = (scales**2).sum() ** 2 / (scales**4).sum()
    result = effective_dimensionality(independent, sources)
    low, high = result.interval().bounds
    assert low <= truth <= high and result.independent == pytest.approx(truth, rel=0.1)
    correlated = rng.normal(size=(600, 3)) @ rng.normal(size=(3, 40)) + 0.1 * independent
    result = effective_dimensionality(correlated, sources)
    assert result.interval().high < 4 < 20 < result.independent


def test_paired_difference_covers_the_planted_difference():
    sources = probe_like_sources()
    low_d, low_truth = planted(sources, 200, 1.0, seed=1)
    high_d, high_truth = planted(sources, 200, 0.6, seed=2)
    low, high = (effective_dimensionality(r, sources) for r in (low_d, high_d))
    difference = high.difference(low)
    assert difference.estimate == pytest.approx(high.estimate.full - low.estimate.full)
    assert difference.low <= high_truth - low_truth <= difference.high and difference.low > 0
    same = low.difference(low)
    assert (same.estimate, same.low, same.high) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="one stimulus set"):
        low.difference(effective_dimensionality(low_d[:-1], sources[:-1]))


def test_jackknife_of_a_mean_is_the_textbook_interval():
    from scipy.stats import t

    values = np.random.default_rng(1).normal(size=25)
    leave_outs = (values.sum() - values) / 24
    interval = jackknife_interval(values.mean(), leave_outs)
    half = t.ppf(0.975, 24) * values.std(ddof=1) / 5
    assert interval.bounds == pytest.approx([values.mean() - half, values.mean() + half])


def test_edge_cases():
    silent = effective_dimensionality(np.ones((10, 5)))
    assert silent.estimate.full == 0.0 and silent.interval().bounds == [0.0, 0.0]
    with pytest.raises(ValueError, match="n_stimuli"):
        effective_dimensionality(np.ones((1, 5)))
    with pytest.raises(ValueError, match="6 source images"):
        effective_dimensionality(np.random.default_rng(0).normal(size=(10, 5)), np.arange(10) // 2)
    with pytest.raises(ValueError, match="one source per stimulus"):
        effective_dimensionality(np.zeros((10, 5)), np.arange(9))
