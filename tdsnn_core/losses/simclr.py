"""SimCLR: a self-supervised objective (TDANN's best V1 maps come from it).

Each image of a batch is seen twice, through two random augmentations; a projection head maps
each view's features to an embedding, and the NT-Xent loss (Chen et al. 2020) asks every view
to pick its partner out of the other 2B - 1 views by cosine similarity at temperature tau.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ProjectionHead(nn.Module):
    """SimCLR's two-layer MLP from a network's features [B, F] to embeddings [B, D]."""

    def __init__(self, features: int, dim: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(features, features), nn.ReLU(), nn.Linear(features, dim))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.mlp(features)


def partner_indices(views: int, device: torch.device | None = None) -> torch.Tensor:
    """For views interleaved as (image 0 view a, image 0 view b, image 1 view a, ...): the
    index of each view's partner (i XOR 1), [views]."""
    if views < 2 or views % 2:
        raise ValueError(f"SimCLR needs two views per image (an even count >= 2), got {views}")
    return torch.arange(views, device=device) ^ 1


def nt_xent(embeddings: torch.Tensor, temperature: float) -> torch.Tensor:
    """NT-Xent over 2B interleaved views [2B, D] (see :func:`partner_indices`): the mean over
    views of -log softmax_j(cos(z_i, z_j) / tau) at j = the partner, j over the other views.
    Computed in float32 whatever the caller's autocast."""
    if not temperature > 0:
        raise ValueError(f"SimCLR temperature must be > 0, got {temperature}")
    with torch.autocast(embeddings.device.type, enabled=False):
        z = F.normalize(embeddings.float(), dim=1)
        logits = z @ z.T / temperature
        logits = logits.masked_fill(
            torch.eye(len(z), dtype=torch.bool, device=z.device), float("-inf")
        )
        return F.cross_entropy(logits, partner_indices(len(z), z.device))
