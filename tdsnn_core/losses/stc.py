"""The Spatio-Temporal Constraints (STC) loss and TDANN's spatial correlation loss.

For one cluster of n units: L_L = (1 - Pearson(r, d)) / 2 with r the Pearson correlation of
the units' firing rates over the batch, and L_S = (1 - Pearson(r_CCG, d)) / 2 with r_CCG the
normalised cross-correlogram over lags -W..W; d = 1 / (distance + 1). Layers sum, clusters
average: L_topo = (1/M) sum_layers sum_clusters (alpha L_L + beta L_S), the average taken over
a layer's clusters that hold at least 3 units.

Both losses run in float32 outside autocast, whatever the caller's precision: their parts
are ratios of sums of products, which bfloat16 cannot hold (method.md, "Precision").
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import NamedTuple

import torch

from tdsnn_core.losses.clusters import Clusters, inverse_distance_targets, sample_clusters
from tdsnn_core.losses.correlation import (
    Form,
    correlogram_factor,
    pearson_with_pairs,
    response_factor,
)


class TopoLossParts(NamedTuple):
    """The weighted topographic term and its unweighted parts (summed over layers)."""

    total: torch.Tensor
    rate: torch.Tensor
    timing: torch.Tensor


class ClusterBatch(NamedTuple):
    """Clusters of one or more layers padded to one size n, ready for the batched kernels.

    ``values`` [K, ..., n] (padding zeroed), ``target`` [K, n, n] (see
    :func:`~tdsnn_core.losses.clusters.inverse_distance_targets`), ``mask`` [K, n] of real
    members, ``share`` [K]: each cluster's weight in its layer's mean (1 / the layer's
    clusters; clusters under 3 units are dropped before batching).
    """

    values: torch.Tensor
    target: torch.Tensor
    mask: torch.Tensor
    share: torch.Tensor


def default_window(timesteps: int) -> int:
    """W = T/2 - 1 (at least 0), method.md's default correlogram window."""
    return max(timesteps // 2 - 1, 0)


def rate_term(
    rates: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    eps: float = 1e-3,
    form: Form = "auto",
) -> torch.Tensor:
    """L_L per cluster from the clusters' rates [M, B, n], targets and member masks -> [M]
    (``form``: see :func:`~tdsnn_core.losses.correlation.pearson_with_pairs`)."""
    factor = response_factor(rates, eps)
    return (1.0 - pearson_with_pairs(factor, target, mask, form)) / 2.0


def timing_term(
    spikes: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    window: int,
    eps: float = 1e-3,
    form: Form = "auto",
) -> torch.Tensor:
    """L_S per cluster from the clusters' spikes [M, T, B, n], targets and member masks -> [M]."""
    factor = correlogram_factor(spikes, window, eps)
    return (1.0 - pearson_with_pairs(factor, target, mask, form)) / 2.0


def gather_clusters(values: torch.Tensor, clusters: Clusters) -> torch.Tensor:
    """[..., N] -> [M, ..., n]: the units of each cluster, clusters first, padding zeroed."""
    m, n = clusters.indices.shape
    picked = values.index_select(-1, clusters.indices.flatten())  # backward: index_add
    gathered = picked.view(*values.shape[:-1], m, n).movedim(-2, 0)  # [M, ..., n]
    mask = clusters.mask.view(clusters.mask.shape[0], *([1] * (gathered.dim() - 2)), -1)
    return gathered * mask.to(gathered.dtype)


def _padded(clusters: Clusters, n: int) -> Clusters:
    extra = n - clusters.indices.shape[1]
    pad = (0, extra)
    return Clusters(
        torch.nn.functional.pad(clusters.indices, pad), torch.nn.functional.pad(clusters.mask, pad)
    )


MIN_BUCKET = 32  # smaller clusters share one batch: its fixed per-batch work outweighs theirs


def _bucket(n: int, cap: int) -> int:
    """Padded width for a layer whose largest cluster has n units: the next power of two, at
    least :data:`MIN_BUCKET`, at most ``cap``."""
    return min(cap, max(MIN_BUCKET, 1 << max(n - 1, 1).bit_length()))


def clustered_batches(
    values: Mapping[str, torch.Tensor],
    positions: Mapping[str, torch.Tensor],
    neighborhood_widths: Mapping[str, float],
    cluster_size: int,
    clusters_per_layer: int,
    generator: torch.Generator | None,
    start_dim: int,
) -> list[ClusterBatch]:
    """Sample each layer's clusters and stack layers of similar cluster size, in float32.

    ``values[layer]`` is flattened from ``start_dim`` to [..., N]. Clusters under 3 units
    add nothing and are dropped before their units are gathered (a layer with none is left
    out: gathering its spikes would cost a zero-filled gradient of the whole layer). Layers
    whose largest cluster pads to the same width (:func:`_bucket`) share one
    :class:`ClusterBatch`, so every layer's clusters run through batched kernels.
    """
    groups: dict[int, list[tuple[torch.Tensor, ...]]] = {}
    for layer, pos in positions.items():
        pos = pos.float()
        flat = values[layer].flatten(start_dim).float()
        clusters = sample_clusters(
            pos, neighborhood_widths[layer], cluster_size, clusters_per_layer, generator
        )
        valid = clusters.valid
        kept = int(valid.sum())
        if kept == 0:  # the layer adds nothing (and its spikes get no gradient)
            continue
        if kept < len(valid):
            clusters = Clusters(clusters.indices[valid], clusters.mask[valid])
        clusters = _padded(clusters, _bucket(clusters.indices.shape[1], cluster_size))
        groups.setdefault(clusters.indices.shape[1], []).append(
            (
                gather_clusters(flat, clusters),
                pos[clusters.indices],
                clusters.mask,
                torch.full((kept,), 1 / kept, dtype=pos.dtype),
            )
        )
    batches = []
    for items in groups.values():
        gathered, cluster_positions, mask, share = (torch.cat(p) for p in zip(*items, strict=True))
        target = inverse_distance_targets(cluster_positions, mask)
        batches.append(ClusterBatch(gathered, target, mask, share))
    return batches


def _float32_outside_autocast(loss: Callable[..., TopoLossParts]) -> Callable[..., TopoLossParts]:
    """Run a topographic loss with CPU and CUDA autocast off (its parts are ratios of sums of
    products that bfloat16 cannot hold), after checking its ``eps``."""

    @functools.wraps(loss)
    def run(*args, eps: float = 1e-3, **kwargs) -> TopoLossParts:
        if not eps > 0:
            raise ValueError(f"topography eps must be > 0 (silent units need it), got {eps}")
        with torch.autocast("cpu", enabled=False), torch.autocast("cuda", enabled=False):
            return loss(*args, eps=eps, **kwargs)

    return run


@_float32_outside_autocast
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
    device = next(iter(positions.values())).device
    steps = next(iter(spikes.values())).shape[0]
    w = default_window(steps) if window is None else window
    rate_sum = timing_sum = torch.zeros((), device=device)
    for batch in clustered_batches(
        spikes, positions, neighborhood_widths, cluster_size, clusters_per_layer, generator, 2
    ):
        if alpha:
            term = rate_term(batch.values.mean(1), batch.target, batch.mask, eps)
            rate_sum = rate_sum + (term * batch.share).sum()
        if beta:
            term = timing_term(batch.values, batch.target, batch.mask, w, eps)
            timing_sum = timing_sum + (term * batch.share).sum()
    return TopoLossParts(alpha * rate_sum + beta * timing_sum, rate_sum, timing_sum)


@_float32_outside_autocast
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
    device = next(iter(positions.values())).device
    total = torch.zeros((), device=device)
    for batch in clustered_batches(
        responses, positions, neighborhood_widths, cluster_size, clusters_per_layer, generator, 1
    ):
        term = rate_term(batch.values, batch.target, batch.mask, eps)
        total = total + (term * batch.share).sum()
    return TopoLossParts(weight * total, total, torch.zeros((), device=device))
