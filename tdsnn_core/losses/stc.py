"""The Spatio-Temporal Constraints (STC) loss and TDANN's spatial correlation loss.

For one cluster of n units: L_L = (1 - Pearson(r, d)) / 2 with r the Pearson correlation of
the units' firing rates over the batch, and L_S = (1 - Pearson(r_CCG, d)) / 2 with r_CCG the
normalised cross-correlogram over lags -W..W; d = 1 / (distance + 1). Layers sum, clusters
average: L_topo = (1/M) sum_layers sum_clusters (alpha L_L + beta L_S).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import torch

from tdsnn_core.losses.clusters import inverse_distance_targets, sample_clusters
from tdsnn_core.losses.correlation import (
    correlogram_correlations,
    pearson_with_target,
    response_correlations,
)


class TopoLossParts(NamedTuple):
    """The weighted topographic term and its unweighted parts (summed over layers)."""

    total: torch.Tensor
    rate: torch.Tensor
    timing: torch.Tensor


def default_window(timesteps: int) -> int:
    """W = T/2 - 1 (at least 0), method.md's default correlogram window."""
    return max(timesteps // 2 - 1, 0)


def rate_term(rates: torch.Tensor, target: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """L_L per cluster from the clusters' rates [M, B, n] and targets [M, n, n] -> [M]."""
    r = response_correlations(rates, eps)
    return (1.0 - pearson_with_target(r, target)) / 2.0


def timing_term(
    spikes: torch.Tensor, target: torch.Tensor, window: int, eps: float = 1e-3
) -> torch.Tensor:
    """L_S per cluster from the clusters' spikes [M, T, B, n] and targets [M, n, n] -> [M]."""
    r = correlogram_correlations(spikes, window, eps)
    return (1.0 - pearson_with_target(r, target)) / 2.0


def gather_clusters(values: torch.Tensor, clusters: torch.Tensor) -> torch.Tensor:
    """[..., N] -> [M, ..., n]: the units of each cluster, clusters first."""
    gathered = values[..., clusters]  # [..., M, n]
    return gathered.movedim(-2, 0)


def clustered_batches(
    values: Mapping[str, torch.Tensor],
    positions: Mapping[str, torch.Tensor],
    neighborhood_widths: Mapping[str, float],
    cluster_size: int,
    clusters_per_layer: int,
    generator: torch.Generator | None,
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Sample each layer's clusters and stack those of equal size across layers.

    ``values[layer]`` is [..., N]; returns (values [L*M, ..., n], targets [L*M, n, n]) per
    cluster size, so that every layer's clusters run through one set of batched kernels.
    """
    groups: dict[int, list[tuple[torch.Tensor, torch.Tensor]]] = {}
    for layer, pos in positions.items():
        clusters = sample_clusters(
            pos, neighborhood_widths[layer], cluster_size, clusters_per_layer, generator
        )
        gathered = gather_clusters(values[layer], clusters)
        groups.setdefault(clusters.shape[1], []).append(
            (gathered, inverse_distance_targets(pos[clusters]))
        )
    return [
        (torch.cat([v for v, _ in items]), torch.cat([t for _, t in items]))
        for items in groups.values()
    ]


def stc_loss(
    spikes: Mapping[str, torch.Tensor],
    positions: Mapping[str, torch.Tensor],
    neighborhood_widths: Mapping[str, float],
    *,
    alpha: float,
    beta: float,
    clusters_per_layer: int = 10,
    cluster_size: int = 256,
    window: int | None = None,
    eps: float = 1e-3,
    generator: torch.Generator | None = None,
) -> TopoLossParts:
    """STC loss over the layers in ``positions``.

    ``spikes[layer]`` is [T, B, C, H, W] (or [T, B, N]); ``positions[layer]`` is [N, 2] in mm
    on the same device. A term whose weight is 0 is not computed (reported as 0).
    """
    flat = {layer: spikes[layer].flatten(2).float() for layer in positions}
    steps = next(iter(flat.values())).shape[0]
    w = default_window(steps) if window is None else window
    rate_sum = timing_sum = torch.zeros((), device=next(iter(flat.values())).device)
    for clustered, target in clustered_batches(
        flat, positions, neighborhood_widths, cluster_size, clusters_per_layer, generator
    ):
        if alpha:
            rate_sum = rate_sum + rate_term(clustered.mean(1), target, eps).sum()
        if beta:
            timing_sum = timing_sum + timing_term(clustered, target, w, eps).sum()
    rate_sum, timing_sum = rate_sum / clusters_per_layer, timing_sum / clusters_per_layer
    return TopoLossParts(alpha * rate_sum + beta * timing_sum, rate_sum, timing_sum)


def spatial_correlation_loss(
    responses: Mapping[str, torch.Tensor],
    positions: Mapping[str, torch.Tensor],
    neighborhood_widths: Mapping[str, float],
    *,
    weight: float,
    clusters_per_layer: int = 10,
    cluster_size: int = 256,
    eps: float = 1e-3,
    generator: torch.Generator | None = None,
) -> TopoLossParts:
    """TDANN's spatial correlation loss on any responses [B, ...] (activations or rates).

    On a spiking model's firing rates this equals the STC rate term alone (beta = 0).
    """
    flat = {layer: responses[layer].flatten(1).float() for layer in positions}
    total = torch.zeros((), device=next(iter(flat.values())).device)
    for rates, target in clustered_batches(
        flat, positions, neighborhood_widths, cluster_size, clusters_per_layer, generator
    ):
        total = total + rate_term(rates, target, eps).sum()
    total = total / clusters_per_layer
    return TopoLossParts(weight * total, total, torch.zeros((), device=total.device))
