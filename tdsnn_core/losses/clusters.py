"""Loss clusters: random square neighbourhoods of a cortical sheet and their distance targets."""

from __future__ import annotations

import torch


def sample_clusters(
    positions: torch.Tensor,
    width_mm: float,
    size: int,
    count: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Indices [count, n] of ``count`` clusters of n = min(size, N) units each.

    A cluster is centred on a random unit; it takes a random subset of the units inside the
    square of side ``width_mm`` around the centre, and when that square holds fewer than n
    units it takes the n units nearest to the centre in L-infinity distance (the square grows
    just enough). Fixed n lets all clusters of a layer be computed in one batch.
    """
    n_units = positions.shape[0]
    n = min(size, n_units)
    if n < 3:
        raise ValueError(f"a loss cluster needs at least 3 units; the layer has {n_units}")
    centres = positions[torch.randint(n_units, (count,), generator=generator).to(positions.device)]
    linf = (positions.unsqueeze(0) - centres.unsqueeze(1)).abs().amax(dim=-1)  # [count, N]
    noise = torch.rand(linf.shape, generator=generator).to(linf.device)
    score = torch.where(linf <= width_mm / 2, noise - 2.0, linf)  # inside first, in random order
    return score.topk(n, dim=1, largest=False).indices


def inverse_distance_targets(cluster_positions: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Centred, unit-norm inverse distances 1 / (d + 1) over the off-diagonal pairs.

    ``cluster_positions`` is [M, n, 2]; the result is [M, n, n] with a zero diagonal, so that
    sum(r * target) over a symmetric r is Pearson's numerator over the pairs i != j (which
    equals Pearson over the pairs i < j).
    """
    n = cluster_positions.shape[1]
    inv = 1.0 / (torch.cdist(cluster_positions, cluster_positions) + 1.0)
    off = ~torch.eye(n, dtype=torch.bool, device=inv.device)
    mean = inv[:, off].mean(dim=1).view(-1, 1, 1)
    centred = (inv - mean) * off
    norm = centred.square().sum(dim=(1, 2), keepdim=True).sqrt()
    return centred / (norm + eps)
