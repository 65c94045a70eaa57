"""Loss clusters: random square neighbourhoods of a cortical sheet and their distance targets.

A cluster is the set of units inside a square of the area's neighbourhood width around a
centre drawn uniformly on the sheet (TDANN's rule); it is never wider than that width. A
square holding more than the requested size keeps a random subset of that size; one holding
fewer keeps all its units. Clusters of different sizes share one padded tensor with a mask,
so a layer's clusters (and layers of similar cluster size) run through batched kernels.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

MIN_CLUSTER_UNITS = 3  # a Pearson over pairs needs at least 3 pairs


class Clusters(NamedTuple):
    """Member indices [M, n] (padding points at unit 0) and the mask [M, n] of real members."""

    indices: torch.Tensor
    mask: torch.Tensor

    @property
    def sizes(self) -> torch.Tensor:
        """Units per cluster, [M]."""
        return self.mask.sum(dim=1)

    @property
    def valid(self) -> torch.Tensor:
        """Clusters with enough units for a Pearson over their pairs, [M] bool."""
        return self.sizes >= MIN_CLUSTER_UNITS

    def members(self, m: int) -> torch.Tensor:
        """Indices of cluster ``m``'s real members."""
        return self.indices[m][self.mask[m]]


def sample_clusters(
    positions: torch.Tensor,
    width_mm: float,
    size: int,
    count: int,
    generator: torch.Generator | None = None,
) -> Clusters:
    """``count`` clusters of at most ``size`` units, centres uniform on the sheet.

    The sheet is the bounding box of ``positions`` [N, 2] (mm). A cluster holds the units whose
    L-infinity distance to its centre is at most ``width_mm / 2``; when there are more than
    ``size`` of them it keeps a uniformly random subset of ``size``. The tensors are padded to
    the largest cluster drawn.
    """
    if size < MIN_CLUSTER_UNITS:
        raise ValueError(f"a loss cluster needs at least {MIN_CLUSTER_UNITS} units, got {size}")
    if width_mm <= 0:
        raise ValueError(f"the neighbourhood width must be positive, got {width_mm} mm")
    low, high = torch.aminmax(positions, dim=0)
    draw = torch.rand((count, 2), generator=generator, dtype=torch.float64).to(positions.device)
    centres = low + draw.to(positions.dtype) * (high - low)
    inside = torch.cdist(centres, positions, p=float("inf")) <= width_mm / 2  # [count, N]
    most = int(inside.sum(dim=1).max())
    if most > size:  # a random subset of the inside units: inside first, shuffled
        noise = torch.rand(inside.shape, generator=generator).to(inside.device)
    else:  # every inside unit is kept: no order needed
        noise = torch.zeros(inside.shape, device=inside.device)
    score = torch.where(inside, noise, torch.full_like(noise, 2.0))
    n = int(min(size, max(most, 1)))
    kept, indices = score.topk(n, dim=1, largest=False)
    mask = kept < 2.0
    return Clusters(torch.where(mask, indices, torch.zeros_like(indices)), mask)


def real_pair_count(real: torch.Tensor) -> torch.Tensor:
    """Ordered pairs i != j of real members per cluster, at least 1: ``real`` [M, n] of 1s
    and 0s -> [M]."""
    units = real.sum(dim=1)
    return (units * (units - 1)).clamp_min(1.0)


def centre_real_pairs(pairs: torch.Tensor, mean: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Subtract ``mean`` [M] from ``pairs`` [M, n, n] in place on the pairs i != j of real
    members (``real`` [M, n], 1 or 0: a rank-1 update), zeroing the diagonal: padded pairs
    stay as they are."""
    pairs.baddbmm_((-mean)[:, None, None] * real.unsqueeze(2), real.unsqueeze(1))
    pairs.diagonal(dim1=1, dim2=2).zero_()
    return pairs


def inverse_distance_targets(
    cluster_positions: torch.Tensor, mask: torch.Tensor | None = None, eps: float = 1e-12
) -> torch.Tensor:
    """Centred, unit-norm inverse distances 1 / (d + 1) over the pairs of real members.

    ``cluster_positions`` is [M, n, 2] and ``mask`` [M, n] (all real when None); the result is
    [M, n, n], zero on the diagonal and on padded pairs, so that sum(r * target) over a
    symmetric r is Pearson's numerator over the pairs i != j (which equals Pearson over the
    pairs i < j).
    """
    if mask is None:
        mask = torch.ones(cluster_positions.shape[:2], dtype=torch.bool)
    real = mask.to(device=cluster_positions.device, dtype=cluster_positions.dtype)
    inv = torch.cdist(cluster_positions, cluster_positions).add_(1.0).reciprocal_()
    inv.mul_(real.unsqueeze(2)).mul_(real.unsqueeze(1)).diagonal(dim1=1, dim2=2).zero_()
    mean = inv.sum(dim=(1, 2)) / real_pair_count(real)
    centre_real_pairs(inv, mean, real)
    norm = torch.linalg.vector_norm(inv.flatten(1), dim=1)
    return inv.div_((norm + eps)[:, None, None])


def cluster_extent_mm(positions: torch.Tensor, clusters: Clusters) -> torch.Tensor:
    """Largest side of each cluster's bounding box (mm), [M] (0 for clusters of < 2 units)."""
    pos = positions[clusters.indices]  # [M, n, 2]
    far = torch.finfo(pos.dtype).max
    mask = clusters.mask.unsqueeze(-1)
    high = torch.where(mask, pos, torch.full_like(pos, -far)).amax(dim=1)
    low = torch.where(mask, pos, torch.full_like(pos, far)).amin(dim=1)
    extent = (high - low).amax(dim=1)
    return torch.where(clusters.sizes >= 2, extent, torch.zeros_like(extent))
