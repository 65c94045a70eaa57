"""Lesions: force chosen units of a topographic layer to stay silent at every timestep."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import torch
from torch import nn


class UnitSilencer(nn.Module):
    """Multiplies a layer's spikes [T, B, C, H, W] by a keep-mask [C, H, W] (1 = intact).

    With no mask set it is the identity. The mask is a non-persistent buffer: lesions are
    never saved into checkpoints.
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("keep", None, persistent=False)

    def forward(self, spikes: torch.Tensor) -> torch.Tensor:
        return spikes if self.keep is None else spikes * self.keep

    def silence(
        self,
        units: torch.Tensor | Sequence[int],
        dims: tuple[int, int, int],
        device: torch.device | str = "cpu",
    ) -> None:
        """Silence the flat unit indices (c*H*W + h*W + w) of a layer with dims (C, H, W)."""
        units = torch.as_tensor(units, dtype=torch.long).flatten()
        n = dims[0] * dims[1] * dims[2]
        if units.numel() and (int(units.min()) < 0 or int(units.max()) >= n):
            raise ValueError(f"unit indices must lie in [0, {n}) for a layer with dims {dims}")
        keep = torch.ones(n, device=device)
        keep[units.to(keep.device)] = 0.0
        self.keep = keep.view(*dims)

    def clear(self) -> None:
        self.keep = None


@contextmanager
def lesioned(
    model: nn.Module, lesions: Mapping[str, Sequence[int] | torch.Tensor]
) -> Iterator[None]:
    """Within the block, the given units of each named topographic layer are silenced.

    ``model`` must provide ``silencer(layer)`` and ``layer_dims(layer)`` (every TDSNN model does).
    """
    silencers = []
    device = next(model.parameters()).device
    try:
        for layer, units in lesions.items():
            silencer = model.silencer(layer)
            silencer.silence(units, model.layer_dims(layer), device)
            silencers.append(silencer)
        yield
    finally:
        for silencer in silencers:
            silencer.clear()
