"""Run stimuli through a model in batches: the one forward runner every analysis uses.

:func:`forward_batches` yields the model's output batch by batch (eval mode, no gradient,
on the model's device, optionally lesioned and at another inference T); :func:`record_rates`,
:func:`record_spikes` and :func:`predict` are the three things analyses take from it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import torch
from tqdm import tqdm

from tdsnn_core.models import TopographicSNN, lesioned
from tdsnn_core.models.base import SpikingOutput


@torch.no_grad()
def forward_batches(
    model: TopographicSNN,
    images: torch.Tensor,
    *,
    batch_size: int = 64,
    timesteps: int | None = None,
    lesions: Mapping[str, np.ndarray] | None = None,
    progress: bool = False,
    desc: str = "recording",
) -> Iterator[tuple[slice, SpikingOutput]]:
    """Yield (the batch's slice of ``images``, the model's :class:`SpikingOutput`) per batch.

    ``lesions`` maps layers to flat unit indices silenced at every timestep for the run.
    """
    model.eval()
    device = next(model.parameters()).device
    starts = range(0, len(images), batch_size)
    with lesioned(model, lesions or {}):
        for start in tqdm(starts, desc=desc, disable=not progress, leave=False):
            batch = slice(start, min(start + batch_size, len(images)))
            yield batch, model(images[batch].to(device), timesteps=timesteps, return_spikes=True)


def record_rates(
    model: TopographicSNN,
    images: torch.Tensor,
    layers: Sequence[str] | None = None,
    batch_size: int = 64,
    progress: bool = False,
    **run,
) -> dict[str, np.ndarray]:
    """Mean firing rate over time of every unit: {layer: [n_images, n_units]} (float32)."""
    names = _layer_names(model, layers)
    chunks: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for _, out in forward_batches(model, images, batch_size=batch_size, progress=progress, **run):
        for name in names:
            chunks[name].append(out.spikes[name].float().mean(0).flatten(1).cpu().numpy())
    return {name: np.concatenate(parts) for name, parts in chunks.items()}


def record_spikes(
    model: TopographicSNN,
    images: torch.Tensor,
    layers: Sequence[str] | None = None,
    batch_size: int = 64,
    **run,
) -> dict[str, np.ndarray]:
    """Spikes of every unit at every timestep: {layer: [T, n_images, n_units]} (uint8)."""
    names = _layer_names(model, layers)
    chunks: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for _, out in forward_batches(model, images, batch_size=batch_size, **run):
        for name in names:
            chunks[name].append(out.spikes[name].flatten(2).to(torch.uint8).cpu().numpy())
    return {name: np.concatenate(parts, axis=1) for name, parts in chunks.items()}


def predict(model: TopographicSNN, images: torch.Tensor, batch_size: int = 64, **run) -> np.ndarray:
    """The model's predicted class (argmax of the time-averaged logits) per image, [n_images]."""
    parts = [
        out.logits.argmax(1).cpu().numpy()
        for _, out in forward_batches(model, images, batch_size=batch_size, **run)
    ]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _layer_names(model: TopographicSNN, layers: Sequence[str] | None) -> list[str]:
    return list(layers) if layers is not None else [t.name for t in model.topographic_layers()]
