"""What every TDSNN model offers: multi-step spiking forward, named topographic layers, lesions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from spikingjelly.activation_based import functional
from torch import nn

from tdsnn_core.models.silencing import UnitSilencer


@dataclass(frozen=True)
class TopoLayer:
    """A topographic layer: its name, cortical area, output dims (C, H, W) and downsampling."""

    name: str
    area: str
    dims: tuple[int, int, int]
    downsampling: float


class SpikingOutput(NamedTuple):
    """Logits averaged over time, per-timestep logits [T, B, K], spikes [T, B, C, H, W] and
    the readout's input features [T, B, F]."""

    logits: torch.Tensor
    logits_per_step: torch.Tensor
    spikes: dict[str, torch.Tensor]
    features: torch.Tensor


class TopographicSNN(nn.Module):
    """Base class. Subclasses build their layers, call :meth:`_register_topographic` for each
    topographic layer (name, area, dims, downsampling, the module whose output it is),
    implement :meth:`forward_steps` and name their linear readout (``readout_name``).

    Every call of :meth:`forward` starts from reset neuron state, so calls are independent.
    ``self_recurrent`` is True for models whose topographic layers feed their own later
    timesteps (CORnet-RT): silencing some of a layer's units then changes its other units too.
    """

    self_recurrent: bool = False
    readout_name: str = "fc"  # the linear layer from forward_steps' features to logits, per step

    def __init__(self, name: str, config: dict, timesteps: int, input_mean, input_std) -> None:
        super().__init__()
        if timesteps < 1:
            raise ValueError(f"timesteps must be >= 1, got {timesteps}")
        self.model_name = name
        self.config = dict(config)
        self.timesteps = timesteps
        self.register_buffer("input_mean", torch.tensor(input_mean).view(-1, 1, 1))
        self.register_buffer("input_std", torch.tensor(input_std).view(-1, 1, 1))
        self._topo: dict[str, TopoLayer] = {}
        self.silencers = nn.ModuleDict()

    def _register_topographic(self, layer: TopoLayer) -> UnitSilencer:
        self._topo[layer.name] = layer
        silencer = UnitSilencer()
        self.silencers[layer.name.replace(".", "_")] = silencer
        return silencer

    # -- public API ---------------------------------------------------------------------------
    def topographic_layers(self) -> list[TopoLayer]:
        return list(self._topo.values())

    def layer_dims(self, layer: str) -> tuple[int, int, int]:
        return self._topo_layer(layer).dims

    def silencer(self, layer: str) -> UnitSilencer:
        self._topo_layer(layer)
        return self.silencers[layer.replace(".", "_")]

    def forward(
        self,
        images: torch.Tensor,
        *,
        timesteps: int | None = None,
        return_spikes: bool = False,
        per_image_readout: bool = False,
        detach_readout: bool = False,
    ) -> torch.Tensor | SpikingOutput:
        """Run images in [0, 1] ([B, C, H, W], repeated over time, or [T, B, C, H, W]).

        Returns the logits averaged over time, or with ``return_spikes`` a
        :class:`SpikingOutput` holding the spikes of every topographic layer.
        ``per_image_readout`` applies the readout to each image's features alone: a matrix
        product of T rows may round differently from one of T x B rows, so this makes each
        image's logits byte-identical to running it alone wherever its features are.
        ``detach_readout`` stops the logits' gradient at the features: the readout then trains
        as a linear probe of a network that another objective trains (SimCLR).
        """
        x = self._encode(images, timesteps)
        functional.reset_net(self)
        features, spikes = self.forward_steps(x)
        functional.reset_net(self)
        readout = self.get_submodule(self.readout_name)
        seen = features.detach() if detach_readout else features
        if per_image_readout:
            per_image = [readout(seen[:, i : i + 1]) for i in range(seen.shape[1])]
            logits_seq = torch.cat(per_image, dim=1)
        else:
            logits_seq = readout(seen)
        logits = logits_seq.mean(0)
        if not return_spikes:
            return logits
        return SpikingOutput(logits, logits_seq, spikes, features)

    def forward_steps(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Normalised input sequence [T, B, C, H, W] -> (features [T, B, F] for the layer named
        ``readout_name``, spikes per layer)."""
        raise NotImplementedError

    # -- helpers ------------------------------------------------------------------------------
    def _topo_layer(self, layer: str) -> TopoLayer:
        if layer not in self._topo:
            raise ValueError(f"unknown topographic layer {layer!r}; known: {list(self._topo)}")
        return self._topo[layer]

    def _encode(self, images: torch.Tensor, timesteps: int | None) -> torch.Tensor:
        steps = timesteps or self.timesteps
        channels = self.input_mean.shape[0]
        if images.dim() == 4:
            images = images.unsqueeze(0).expand(steps, *images.shape)
        if images.dim() != 5 or images.shape[2] != channels:
            raise ValueError(
                f"expected images [B, {channels}, H, W] or [T, B, {channels}, H, W], "
                f"got shape {tuple(images.shape)}"
            )
        return (images - self.input_mean) / self.input_std
