"""Spiking CORnet-RT: four recurrent areas V1, V2, V4, IT built from spikingjelly parts.

Each area (CORnet-RT's ``CORblock_RT`` with LIF neurons in place of ReLU) takes its input
through a strided conv + GroupNorm + LIF, adds its own output spikes of the previous step (the
recurrent state), and fires through a 3 x 3 conv + GroupNorm + LIF. That output is the area's
topographic layer: the model's layers are the cortical areas, named and area-labelled ``V1``,
``V2``, ``V4``, ``IT`` with dims ``(C, H, W)``.

Time is unrolled as CORnet-RT unrolls it ("biological unrolling"): at step ``t`` area ``k``
reads the output of area ``k - 1`` at step ``t - 1`` (V1 reads the image), so the image
reaches IT at step 3, and the default T is 10. Area k first runs at step k, when its input
arrives: before that it is silent (its neurons untouched). Running it on all-zero input would
put zero-variance groups through GroupNorm, whose backward scales gradients by 1 / sqrt(eps)
(~1e5 on the norm biases at initialisation, swamping gradient clipping and Adam). Neuron state
and the recurrent state carry across steps. Lesions silence an area's output before it is
stored, so silenced units neither reach the next area nor feed the area's own recurrence. The
readout (average pool + linear) reads IT at every step; logits are averaged over the steps as
in every TDSNN model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from spikingjelly.activation_based import functional, layer
from torch import nn

from tdsnn_core.models._builder import (
    FASHION_MNIST_MEAN,
    FASHION_MNIST_STD,
    IMAGENET_MEAN,
    IMAGENET_STD,
    NEURON_DEFAULTS,
    build_model,
)
from tdsnn_core.models._registry import register_model
from tdsnn_core.models.base import TopographicSNN, TopoLayer
from tdsnn_core.models.neurons import NeuronSettings
from tdsnn_core.models.silencing import UnitSilencer

AREAS = ("V1", "V2", "V4", "IT")


class CORblockRT(nn.Module):
    """One area, one step: LIF(norm(conv(input))) + previous output -> LIF(norm(conv(.)))."""

    def __init__(
        self,
        in_channels: int,
        channels: int,
        kernel_size: int,
        stride: int,
        norm_groups: int,
        make_neuron: Callable[[], nn.Module],
        silencer: UnitSilencer,
    ) -> None:
        super().__init__()
        pad = kernel_size // 2
        self.conv_input = layer.Conv2d(in_channels, channels, kernel_size, stride, pad, bias=False)
        self.norm_input = layer.GroupNorm(norm_groups, channels)
        self.sn_input = make_neuron()
        self.conv1 = layer.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.norm1 = layer.GroupNorm(norm_groups, channels)
        self.sn1 = make_neuron()
        self.silencer = silencer

    def forward(self, inp: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        skip = self.sn_input(self.norm_input(self.conv_input(inp))) + state
        return self.silencer(self.sn1(self.norm1(self.conv1(skip))))


class CORnetRT(TopographicSNN):
    self_recurrent = True  # an area's output is its own recurrent input at the next step
    """Spiking CORnet-RT for static images, unrolled for ``timesteps`` steps."""

    def __init__(
        self,
        *,
        name: str,
        widths: Sequence[int],
        kernel_sizes: Sequence[int],
        strides: Sequence[int],
        norm_groups: int,
        input_size: int,
        in_channels: int,
        num_classes: int,
        timesteps: int,
        neuron: str,
        tau: float,
        v_threshold: float,
        surrogate: str,
        detach_reset: bool,
        input_mean: Sequence[float],
        input_std: Sequence[float],
    ) -> None:
        config = {k: v for k, v in locals().items() if k not in ("self", "__class__", "name")}
        super().__init__(name, config, timesteps, list(input_mean), list(input_std))
        if not len(widths) == len(kernel_sizes) == len(strides) == len(AREAS):
            raise ValueError("widths, kernel_sizes and strides must each list 4 areas")
        if any(w % norm_groups for w in widths):
            raise ValueError(f"norm_groups {norm_groups} must divide every width {list(widths)}")
        if len(input_mean) != in_channels or len(input_std) != in_channels:
            raise ValueError("input_mean and input_std need one value per input channel")
        make_neuron = NeuronSettings(neuron, tau, v_threshold, surrogate, detach_reset).factory()
        self.areas = nn.ModuleDict()
        channels, size, downsampling = in_channels, input_size, 1
        for area, width, kernel, stride in zip(AREAS, widths, kernel_sizes, strides, strict=True):
            if kernel % 2 == 0:
                raise ValueError(f"kernel_sizes must be odd, got {kernel} for {area}")
            size, downsampling = math.ceil(size / stride), downsampling * stride
            topo = TopoLayer(area, area, (width, size, size), float(downsampling))
            self.areas[area] = CORblockRT(
                channels,
                width,
                kernel,
                stride,
                norm_groups,
                make_neuron,
                self._register_topographic(topo),
            )
            channels = width
        functional.set_step_mode(self.areas, "s")  # the recurrence is stepped by hand
        self.pool = layer.AdaptiveAvgPool2d((1, 1), step_mode="m")
        self.fc = layer.Linear(channels, num_classes, step_mode="m")
        self.num_classes = num_classes
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward_steps(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        batch = x.shape[1]
        previous = [x.new_zeros(batch, *t.dims) for t in self.topographic_layers()]
        history: list[list[torch.Tensor]] = []
        for step, frame in enumerate(x):
            inputs = [frame, *previous[:-1]]  # area k reads area k - 1 of the previous step
            previous = [
                area(inp, state) if k <= step else state  # silent until its input arrives
                for k, (area, inp, state) in enumerate(
                    zip(self.areas.values(), inputs, previous, strict=True)
                )
            ]
            history.append(previous)
        spikes = {name: torch.stack([step[k] for step in history]) for k, name in enumerate(AREAS)}
        return self.pool(spikes["IT"]).flatten(2), spikes

    def topographic_weight(self, layer_name: str) -> torch.Tensor:
        """The area's output conv weight, whose output channels are the layer's units."""
        self._topo_layer(layer_name)
        return self.areas[layer_name].conv1.weight


@register_model
def cornet_rt(**overrides) -> TopographicSNN:
    """CORnet-RT for 224 px colour images (ImageNet): widths 64-128-256-512, V1 7 x 7 / 4,
    then 3 x 3 / 2 per area (56, 28, 14, 7 px maps), GroupNorm(32), T = 10, LIF tau 2.0."""
    config = dict(
        widths=(64, 128, 256, 512),
        kernel_sizes=(7, 3, 3, 3),
        strides=(4, 2, 2, 2),
        norm_groups=32,
        input_size=224,
        in_channels=3,
        num_classes=1000,
        timesteps=10,
        input_mean=IMAGENET_MEAN,
        input_std=IMAGENET_STD,
        **NEURON_DEFAULTS,
    )
    return build_model(CORnetRT, "cornet_rt", config, overrides)


@register_model
def cornet_rt_mini(**overrides) -> TopographicSNN:
    """A narrow CORnet-RT for 28 px grey images (Fashion-MNIST): widths 16-32-64-128, stride 2
    per area (14, 7, 4, 2 px maps), GroupNorm(8), T = 10, threshold 0.5 as in sresnet_mini."""
    config = dict(
        widths=(16, 32, 64, 128),
        kernel_sizes=(5, 3, 3, 3),
        strides=(2, 2, 2, 2),
        norm_groups=8,
        input_size=28,
        in_channels=1,
        num_classes=10,
        timesteps=10,
        input_mean=FASHION_MNIST_MEAN,
        input_std=FASHION_MNIST_STD,
        **{**NEURON_DEFAULTS, "v_threshold": 0.5},
    )
    return build_model(CORnetRT, "cornet_rt_mini", config, overrides)
