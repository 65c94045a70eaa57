"""Effective dimensionality of a population's responses."""

from __future__ import annotations

import numpy as np


def effective_dimensionality(responses: np.ndarray) -> float:
    """(sum lambda)^2 / sum lambda^2 over the PCA eigenvalues of ``responses`` [n_stimuli, N].

    k orthogonal components of equal variance give exactly k. Computed from the traces of
    the covariance and of its square (through the smaller Gram matrix), so no
    eigendecomposition is needed. Responses without any variance give 0.
    """
    responses = np.asarray(responses, dtype=float)
    if responses.ndim != 2 or len(responses) < 2:
        raise ValueError(f"responses must be [n_stimuli >= 2, N], got {responses.shape}")
    centred = responses - responses.mean(axis=0)
    gram = centred @ centred.T if centred.shape[0] <= centred.shape[1] else centred.T @ centred
    eigenvalue_sum = np.trace(gram)
    eigenvalue_square_sum = np.sum(gram**2)
    return float(eigenvalue_sum**2 / eigenvalue_square_sum) if eigenvalue_sum > 0 else 0.0
