"""Run stimuli through a model and record its topographic layers (spikes or firing rates)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from tqdm import tqdm

from tdsnn_core.models import TopographicSNN


@torch.no_grad()
def record_rates(
    model: TopographicSNN,
    images: torch.Tensor,
    layers: Sequence[str] | None = None,
    batch_size: int = 64,
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Mean firing rate over time of every unit: {layer: [n_images, n_units]} (float32)."""
    model.eval()
    device = next(model.parameters()).device
    names = list(layers) if layers is not None else [t.name for t in model.topographic_layers()]
    chunks: dict[str, list[np.ndarray]] = {name: [] for name in names}
    starts = range(0, len(images), batch_size)
    for start in tqdm(starts, desc="recording", disable=not progress, leave=False):
        out = model(images[start : start + batch_size].to(device), return_spikes=True)
        for name in names:
            chunks[name].append(out.spikes[name].float().mean(0).flatten(1).cpu().numpy())
    return {name: np.concatenate(parts) for name, parts in chunks.items()}
