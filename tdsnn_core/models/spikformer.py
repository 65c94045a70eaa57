"""Topographic Spikformer (spiking vision transformer) built from spikingjelly multi-step parts.

Stem: spikingjelly's SPS patch stem (conv-BN-LIF stages with max-pooling, plus its relative
position conv) turns an image into an ``h x w`` grid of tokens with ``D`` channels. Blocks:
spiking self-attention (SSA: Q, K, V = LIF(BN(Linear(x))), attention ``Q K^T V * scale`` with
no softmax, LIF, then the projection Linear + BN + LIF) and a spiking MLP, each added to the
token stream. Linear layers are 1 x 1 convolutions over the tokens, as in Spikformer.

Topographic layers: the spikes of the projection after attention in every block (``blocks.0``
...), as in the paper. Sheet mapping: tokens are kept channel-first, ``[T, B, D, N]`` with
token ``n = i * w + j`` the patch in row ``i``, column ``j`` of the patch grid, so the layer is
exposed as dims ``(D, h, w)``: the patch's grid position is its retinotopic anchor and its
``D`` channels scatter around that anchor, exactly like a ResNet's ``(C, H, W)``. The
downsampling given to the sheets is the patch size. Blocks are spread over the areas in
order (V1, V2, V4, IT; depth 8 gives two blocks each).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace

import torch
from spikingjelly.activation_based import layer
from spikingjelly.activation_based.model.spikformer import SpikformerMLP, SpikformerPatchStem
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
POOLS = {4: 2, 16: 4}  # patch size -> max-pools of the SPS stem (spikingjelly supports these)


def block_area(block: int, depth: int) -> str:
    """Cortical area of block ``block`` (0-based) of ``depth``: equal shares of V1, V2, V4, IT."""
    return AREAS[min(len(AREAS) * block // depth, len(AREAS) - 1)]


def _linear_bn(features_in: int, features_out: int) -> layer.SeqToANNContainer:
    return layer.SeqToANNContainer(
        nn.Conv1d(features_in, features_out, 1, bias=False), nn.BatchNorm1d(features_out)
    )


class SpikingSelfAttention(nn.Module):
    """SSA on tokens [T, B, D, N]; returns the projection's spikes [T, B, D, N]."""

    def __init__(
        self,
        dim: int,
        heads: int,
        make_neuron: Callable[[], nn.Module],
        make_attention_neuron: Callable[[], nn.Module],
        scale: float = 0.125,
    ) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"embed_dim {dim} must be divisible by heads {heads}")
        self.heads, self.scale = heads, scale
        self.qkv = _linear_bn(dim, 3 * dim)
        self.qkv_sn = make_neuron()
        self.attn_sn = make_attention_neuron()
        self.proj = _linear_bn(dim, dim)
        self.proj_sn = make_neuron()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t, b, d, n = x.shape
        qkv = self.qkv_sn(self.qkv(x)).view(t, b, 3, self.heads, d // self.heads, n)
        q, k, v = qkv.unbind(2)  # [T, B, heads, D/heads, N], channel-first
        attended = (v @ k.transpose(-2, -1)) @ q * self.scale  # = (Q K^T V)^T, no softmax
        return self.proj_sn(self.proj(self.attn_sn(attended).reshape(t, b, d, n)))


class SpikformerBlock(nn.Module):
    """x + SSA(x) (silenced: the topographic layer), then + MLP; also returns the SSA spikes."""

    def __init__(
        self,
        attention: SpikingSelfAttention,
        mlp: nn.Module,
        grid: tuple[int, int],
        silencer: UnitSilencer,
    ) -> None:
        super().__init__()
        self.attn, self.mlp, self.grid, self.silencer = attention, mlp, grid, silencer

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        spikes = self.silencer(self.attn(x).unflatten(3, self.grid))  # [T, B, D, h, w]
        x = x + spikes.flatten(3)
        return x + self.mlp(x), spikes


class Spikformer(TopographicSNN):
    """Spikformer-``depth``-``embed_dim`` for static images, run for ``timesteps`` steps."""

    readout_name = "head"

    def __init__(
        self,
        *,
        name: str,
        embed_dim: int,
        depth: int,
        heads: int,
        mlp_ratio: float,
        patch_size: int,
        input_size: int,
        in_channels: int,
        num_classes: int,
        timesteps: int,
        neuron: str,
        tau: float,
        v_threshold: float,
        attention_threshold: float,
        surrogate: str,
        detach_reset: bool,
        input_mean: Sequence[float],
        input_std: Sequence[float],
    ) -> None:
        config = {k: v for k, v in locals().items() if k not in ("self", "__class__", "name")}
        super().__init__(name, config, timesteps, list(input_mean), list(input_std))
        if patch_size not in POOLS:
            raise ValueError(f"patch_size must be one of {sorted(POOLS)}, got {patch_size}")
        if embed_dim % 8:
            raise ValueError(f"embed_dim must be a multiple of 8 (the SPS stem), got {embed_dim}")
        if len(input_mean) != in_channels or len(input_std) != in_channels:
            raise ValueError("input_mean and input_std need one value per input channel")
        settings = NeuronSettings(neuron, tau, v_threshold, surrogate, detach_reset)
        neuron_cls, neuron_kwargs = settings.spec()
        make_neuron = settings.factory()
        make_attention_neuron = replace(settings, v_threshold=attention_threshold).factory()

        self.patch_embed = SpikformerPatchStem(
            input_size,
            input_size,
            patch_size,
            in_channels,
            embed_dim,
            spiking_neuron=neuron_cls,
            **neuron_kwargs,
        )
        side = input_size
        for _ in range(POOLS[patch_size]):  # max-pool 3/2/1 halves, rounding up
            side = math.ceil(side / 2)
        self.grid = (side, side)
        self.blocks = nn.ModuleList()
        for i in range(depth):
            topo = TopoLayer(
                f"blocks.{i}", block_area(i, depth), (embed_dim, side, side), input_size / side
            )
            attention = SpikingSelfAttention(embed_dim, heads, make_neuron, make_attention_neuron)
            mlp = SpikformerMLP(
                embed_dim,
                int(embed_dim * mlp_ratio),
                embed_dim,
                spiking_neuron=neuron_cls,
                **neuron_kwargs,
            )
            self.blocks.append(
                SpikformerBlock(attention, mlp, self.grid, self._register_topographic(topo))
            )
        self.head = layer.Linear(embed_dim, num_classes, step_mode="m")
        self.num_classes = num_classes
        self._init_weights()

    def _init_weights(self) -> None:
        """Kaiming-normal convolutions (so that an untrained model in eval mode fires, as the
        ResNets do) and Spikformer's truncated normal (std 0.02) head."""
        for m in self.modules():
            if isinstance(m, (nn.Conv1d, nn.Conv2d)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        nn.init.trunc_normal_(self.head.weight, std=0.02)
        nn.init.zeros_(self.head.bias)

    def forward_steps(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        spikes = {}
        tokens = self.patch_embed(x).flatten(3)  # [T, B, D, N]
        for i, block in enumerate(self.blocks):
            tokens, spikes[f"blocks.{i}"] = block(tokens)
        return tokens.mean(-1), spikes

    def topographic_weight(self, layer_name: str) -> torch.Tensor:
        """The projection weight [D, D, 1] whose outputs are the layer's channels (TopoLoss)."""
        self._topo_layer(layer_name)
        return self.blocks[int(layer_name.split(".")[1])].attn.proj[0].weight


@register_model
def spikformer(**overrides) -> TopographicSNN:
    """Spikformer-8-384 for 224 px colour images (ImageNet): 16 px patches (14 x 14 tokens),
    12 heads, MLP ratio 4, T = 4, LIF tau 2.0 (attention LIF threshold 0.5), ATan surrogate."""
    config = dict(
        embed_dim=384,
        depth=8,
        heads=12,
        mlp_ratio=4.0,
        patch_size=16,
        input_size=224,
        in_channels=3,
        num_classes=1000,
        timesteps=4,
        input_mean=IMAGENET_MEAN,
        input_std=IMAGENET_STD,
        attention_threshold=0.5,
        **NEURON_DEFAULTS,
    )
    return build_model(Spikformer, "spikformer", config, overrides)


@register_model
def spikformer_mini(**overrides) -> TopographicSNN:
    """Spikformer-4-64 for 28 px grey images (Fashion-MNIST): 4 px patches (7 x 7 tokens),
    4 heads, one block per area; thresholds halved as in sresnet_mini."""
    config = dict(
        embed_dim=64,
        depth=4,
        heads=4,
        mlp_ratio=4.0,
        patch_size=4,
        input_size=28,
        in_channels=1,
        num_classes=10,
        timesteps=4,
        input_mean=FASHION_MNIST_MEAN,
        input_std=FASHION_MNIST_STD,
        attention_threshold=0.25,
        **{**NEURON_DEFAULTS, "v_threshold": 0.5},
    )
    return build_model(Spikformer, "spikformer_mini", config, overrides)
