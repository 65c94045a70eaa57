"""Spiking ResNets (SResNet18 and a small sibling) built from spikingjelly multi-step layers.

The topographic layers are the output spikes of every residual block (layer1.0 ... layer4.1),
mapped to cortical areas as TDANN maps ResNet-18: layer1 early, layer2 V1, layer3.0 V2,
layer3.1 V4, layer4 IT.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from spikingjelly.activation_based import layer
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


def stage_area(stage: int, block: int, blocks_in_stage: int) -> str:
    """Cortical area of block ``block`` of stage ``stage`` (1-based stages)."""
    if stage == 1:
        return "early"
    if stage == 2:
        return "V1"
    if stage == 3:
        return "V2" if block < max(blocks_in_stage // 2, 1) else "V4"
    return "IT"


class SpikingBasicBlock(nn.Module):
    """conv-bn-LIF-conv-bn, plus the (projected) input, then LIF: the block's output spikes."""

    def __init__(
        self,
        in_channels: int,
        channels: int,
        stride: int,
        make_neuron: Callable[[], nn.Module],
        silencer: UnitSilencer,
    ) -> None:
        super().__init__()
        self.conv1 = layer.Conv2d(in_channels, channels, 3, stride, 1, bias=False, step_mode="m")
        self.bn1 = layer.BatchNorm2d(channels, step_mode="m")
        self.sn1 = make_neuron()
        self.conv2 = layer.Conv2d(channels, channels, 3, 1, 1, bias=False, step_mode="m")
        self.bn2 = layer.BatchNorm2d(channels, step_mode="m")
        self.downsample = None
        if stride != 1 or in_channels != channels:
            self.downsample = nn.Sequential(
                layer.Conv2d(in_channels, channels, 1, stride, bias=False, step_mode="m"),
                layer.BatchNorm2d(channels, step_mode="m"),
            )
        self.sn2 = make_neuron()
        self.silencer = silencer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.sn1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.silencer(self.sn2(out + identity))


class SpikingResNet(TopographicSNN):
    """A spiking ResNet of basic blocks for static images, run for ``timesteps`` steps."""

    def __init__(
        self,
        *,
        name: str,
        widths: Sequence[int],
        blocks: Sequence[int],
        stem: str,
        stem_width: int,
        stem_stride: int,
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
        zero_init_residual: bool = False,
    ) -> None:
        config = {k: v for k, v in locals().items() if k not in ("self", "__class__", "name")}
        super().__init__(name, config, timesteps, list(input_mean), list(input_std))
        if len(widths) != 4 or len(blocks) != 4:
            raise ValueError("widths and blocks must each list 4 stages")
        if stem not in ("imagenet", "small"):
            raise ValueError(f"stem must be 'imagenet' or 'small', got {stem!r}")
        if len(input_mean) != in_channels or len(input_std) != in_channels:
            raise ValueError("input_mean and input_std need one value per input channel")
        settings = NeuronSettings(neuron, tau, v_threshold, surrogate, detach_reset)
        make_neuron = settings.factory()

        if stem == "imagenet":  # 7x7/2 conv + 3x3/2 max-pool: 4x downsampling
            if stem_stride != 4:
                raise ValueError("the imagenet stem downsamples by 4: stem_stride must be 4")
            self.stem = nn.Sequential(
                layer.Conv2d(in_channels, stem_width, 7, 2, 3, bias=False, step_mode="m"),
                layer.BatchNorm2d(stem_width, step_mode="m"),
                make_neuron(),
                layer.MaxPool2d(3, 2, 1, step_mode="m"),
            )
            size, downsampling = math.ceil(math.ceil(input_size / 2) / 2), 4
        else:  # one 3x3 conv (stride 1 or 2) for 28-64 px images
            if stem_stride not in (1, 2):
                raise ValueError(f"stem_stride must be 1 or 2, got {stem_stride}")
            self.stem = nn.Sequential(
                layer.Conv2d(in_channels, stem_width, 3, stem_stride, 1, bias=False, step_mode="m"),
                layer.BatchNorm2d(stem_width, step_mode="m"),
                make_neuron(),
            )
            size, downsampling = math.ceil(input_size / stem_stride), stem_stride

        channels = stem_width
        self.stages = nn.ModuleList()
        for stage, (width, n_blocks) in enumerate(zip(widths, blocks, strict=True), start=1):
            stride = 1 if stage == 1 else 2
            if stride == 2:
                size, downsampling = math.ceil(size / 2), downsampling * 2
            stage_blocks = nn.ModuleList()
            for b in range(n_blocks):
                topo = TopoLayer(
                    f"layer{stage}.{b}",
                    stage_area(stage, b, n_blocks),
                    (width, size, size),
                    float(downsampling),
                )
                block = SpikingBasicBlock(
                    channels,
                    width,
                    stride if b == 0 else 1,
                    make_neuron,
                    self._register_topographic(topo),
                )
                stage_blocks.append(block)
                channels = width
            self.stages.append(stage_blocks)
        self.pool = layer.AdaptiveAvgPool2d((1, 1), step_mode="m")
        self.fc = layer.Linear(channels, num_classes, step_mode="m")
        self.num_classes = num_classes
        self._init_weights(zero_init_residual)

    def _init_weights(self, zero_init_residual: bool) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, SpikingBasicBlock):
                    nn.init.zeros_(m.bn2.weight)

    def forward_steps(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        spikes = {}
        x = self.stem(x)
        for stage, blocks in enumerate(self.stages, start=1):
            for b, block in enumerate(blocks):
                x = block(x)
                spikes[f"layer{stage}.{b}"] = x
        return self.pool(x).flatten(2), spikes

    def topographic_weight(self, layer_name: str) -> torch.Tensor:
        """The weight whose output channels are the layer's units (for weight-based TopoLoss)."""
        self._topo_layer(layer_name)
        stage, block = layer_name.removeprefix("layer").split(".")
        return self.stages[int(stage) - 1][int(block)].conv2.weight


@register_model
def sresnet18(**overrides) -> TopographicSNN:
    """SResNet18 for 224 px colour images (ImageNet), T = 4, LIF tau 2.0, ATan surrogate."""
    config = dict(
        widths=(64, 128, 256, 512),
        blocks=(2, 2, 2, 2),
        stem="imagenet",
        stem_width=64,
        stem_stride=4,
        input_size=224,
        in_channels=3,
        num_classes=1000,
        timesteps=4,
        input_mean=IMAGENET_MEAN,
        input_std=IMAGENET_STD,
        **NEURON_DEFAULTS,
    )
    return build_model(SpikingResNet, "sresnet18", config, overrides, ("zero_init_residual",))


@register_model
def sresnet_mini(**overrides) -> TopographicSNN:
    """A narrow SResNet (same 4 x 2 blocks) for 28-64 px images; trains on Fashion-MNIST on CPU."""
    config = dict(
        widths=(16, 64, 64, 128),
        blocks=(2, 2, 2, 2),
        stem="small",
        stem_width=16,
        stem_stride=2,
        input_size=28,
        in_channels=1,
        num_classes=10,
        timesteps=4,
        input_mean=FASHION_MNIST_MEAN,
        input_std=FASHION_MNIST_STD,
        **{**NEURON_DEFAULTS, "v_threshold": 0.5},
    )
    return build_model(SpikingResNet, "sresnet_mini", config, overrides, ("zero_init_residual",))
