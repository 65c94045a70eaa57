"""Effective dimensionality against analytic spectra."""

import numpy as np
import pytest

from tdsnn_core.analysis import effective_dimensionality


def responses_with_spectrum(variances, n_stimuli, n_units, seed=0):
    """Responses whose covariance has exactly the given non-zero eigenvalues (up to scale)."""
    rng = np.random.default_rng(seed)
    k = len(variances)
    centred = rng.normal(size=(n_stimuli, k))
    centred -= centred.mean(axis=0)
    stimulus_axes, _ = np.linalg.qr(centred)  # orthonormal columns, each orthogonal to 1
    unit_axes, _ = np.linalg.qr(rng.normal(size=(n_units, k)))
    offset = rng.uniform(0, 5, n_units)
    return stimulus_axes * np.sqrt(variances) @ unit_axes.T + offset


@pytest.mark.parametrize("k", [1, 3, 7])
@pytest.mark.parametrize(("n_stimuli", "n_units"), [(50, 400), (400, 50)])
def test_k_equal_orthogonal_components_give_k(k, n_stimuli, n_units):
    responses = responses_with_spectrum(np.ones(k), n_stimuli, n_units)
    assert effective_dimensionality(responses) == pytest.approx(k)


def test_unequal_spectrum():
    responses = responses_with_spectrum(np.array([2.0, 1.0]), 30, 20)
    assert effective_dimensionality(responses) == pytest.approx(9 / 5)


def test_edge_cases():
    assert effective_dimensionality(np.ones((10, 5))) == 0.0
    with pytest.raises(ValueError, match="n_stimuli"):
        effective_dimensionality(np.ones((1, 5)))
