"""Pair-correlation matrices of spiking responses and their Pearson correlation with distance.

Every pair matrix is a product of small matrices (batch-by-units), computed for all clusters
of a layer in one batched matrix product; nothing loops over pairs or units. Padded cluster
members (see :mod:`tdsnn_core.losses.clusters`) are zeroed by the caller's mask, so they add
zero rows and columns, and the Pearson with the target only counts the real pairs.

Precision: every statistic is a ratio of sums of products, so it is computed in float32 or
wider and with centred (two-pass) variances; a one-pass variance sum(x^2) - sum(x)^2 / k
cancels catastrophically in bfloat16 (method.md).
"""

from __future__ import annotations

import torch


def response_correlations(responses: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """Pearson correlation over the batch between units: [M, B, n] -> [M, n, n].

    Units with zero variance (e.g. silent, or zeroed padding) correlate 0 with everything,
    themselves included (finite, no NaN, for eps > 0).
    """
    centred = responses - responses.mean(dim=1, keepdim=True)
    z = centred / (centred.square().sum(dim=1, keepdim=True) + eps).sqrt()
    return z.transpose(1, 2) @ z


def correlogram_correlations(spikes: torch.Tensor, window: int, eps: float = 1e-3) -> torch.Tensor:
    """Normalised cross-correlograms r_CCG = CCG_ij / sqrt(ACG_i ACG_j): [M, T, B, n] -> [M, n, n].

    CCG_ij = sum_{tau=-W..W} 1 / (B (T - |tau|)) sum_b sum_t S_i(t) S_j(t + tau). Lag -tau is
    the transpose of lag tau, so only lags 0..W are multiplied.
    """
    m, steps, batch, n = spikes.shape
    if not 0 <= window < steps:
        raise ValueError(f"correlogram window W={window} must be in [0, T-1] for T={steps}")

    def lagged_product(a: torch.Tensor, lag: int) -> torch.Tensor:
        left = a[:, : steps - lag].reshape(m, -1, n)
        right = a[:, lag:].reshape(m, -1, n)
        return (left.transpose(1, 2) @ right) / (batch * (steps - lag))

    acg = autocorrelogram(spikes, window)
    scaled = spikes / (acg + eps).sqrt().unsqueeze(1).unsqueeze(1)
    ccg = lagged_product(scaled, 0)
    for lag in range(1, window + 1):
        p = lagged_product(scaled, lag)
        ccg = ccg + p + p.transpose(1, 2)
    return ccg


def autocorrelogram(spikes: torch.Tensor, window: int) -> torch.Tensor:
    """Auto-correlogram ACG_i = CCG_ii for every unit: [M, T, B, n] -> [M, n]."""
    steps, batch = spikes.shape[1], spikes.shape[2]
    acg = spikes.square().sum(dim=(1, 2)) / (batch * steps)
    for lag in range(1, window + 1):
        prod = (spikes[:, : steps - lag] * spikes[:, lag:]).sum(dim=(1, 2))
        acg = acg + 2.0 * prod / (batch * (steps - lag))
    return acg


def pearson_with_target(
    pairs: torch.Tensor, target: torch.Tensor, weights: torch.Tensor, eps: float = 1e-12
) -> torch.Tensor:
    """Pearson correlation of symmetric ``pairs`` [M, n, n] with a target from
    :func:`~tdsnn_core.losses.clusters.inverse_distance_targets`, over the pairs that
    ``weights`` (:func:`~tdsnn_core.losses.clusters.pair_weights`) marks -> [M].

    The target is centred and unit-norm over those pairs, so the numerator is sum(pairs *
    target); the variance of ``pairs`` is taken around its mean over the same pairs (two-pass).
    """
    count = weights.sum(dim=(1, 2), keepdim=True).clamp_min(1.0)
    mean = (pairs * weights).sum(dim=(1, 2), keepdim=True) / count
    variance = ((pairs - mean).square() * weights).sum(dim=(1, 2))
    return (pairs * target).sum(dim=(1, 2)) / (variance + eps).sqrt()
