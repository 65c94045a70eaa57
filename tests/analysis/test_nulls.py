"""NullComparison on nulls with known order statistics."""

import numpy as np
import pytest

from tdsnn_core.analysis.nulls import NullComparison


def test_comparison_against_a_known_null():
    null = np.arange(100.0)  # mean 49.5
    above = NullComparison.of(150.0, null)
    assert above.percentile == 100.0
    assert above.p_greater == pytest.approx(1 / 101)
    assert above.p_two_sided == pytest.approx(1 / 101)
    assert above.z == pytest.approx((150 - 49.5) / null.std(ddof=1))
    assert above.interval == pytest.approx(tuple(np.percentile(null, [2.5, 97.5])))

    tie = NullComparison.of(10.0, null)  # 10 draws below, one tie
    assert tie.percentile == pytest.approx(10.5)
    assert tie.p_greater == pytest.approx(91 / 101)
    assert tie.p_two_sided == pytest.approx((1 + 22) / 101)  # |d| >= 39.5: 0..10, 89..99


def test_nan_draws_are_dropped_and_an_empty_null_is_nan():
    comparison = NullComparison.of(1.0, np.array([0.0, np.nan, 2.0]))
    assert comparison.null.tolist() == [0.0, 2.0]
    assert comparison.percentile == 50.0
    assert np.isnan(NullComparison.of(1.0, np.array([np.nan])).percentile)
    assert np.isnan(NullComparison.of(1.0, np.ones(5)).z)  # constant null
