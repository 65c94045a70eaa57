"""The topographic term of the training objective, chosen by ``topography.kind`` in the config."""

from __future__ import annotations

import torch

from tdsnn_core.config import TopographyConfig
from tdsnn_core.losses.stc import TopoLossParts, spatial_correlation_loss, stc_loss
from tdsnn_core.losses.topoloss import topoloss
from tdsnn_core.models.base import SpikingOutput, TopographicSNN
from tdsnn_core.sheets.sheet import CorticalSheet


class TopographicObjective:
    """Computes the configured topographic loss (stc, tdann, topoloss or none) for one step."""

    def __init__(
        self, config: TopographyConfig, sheets: dict[str, CorticalSheet], device: torch.device
    ) -> None:
        self.config = config
        layers = config.layers if config.layers is not None else list(sheets)
        unknown = [name for name in layers if name not in sheets]
        if unknown:
            raise ValueError(
                f"topography.layers {unknown} are not topographic layers: {list(sheets)}"
            )
        self.layers = layers
        self.positions = {
            name: torch.as_tensor(sheets[name].positions, device=device) for name in layers
        }
        self.widths = {
            name: sheets[name].neighborhood_width_mm * config.neighborhood_scale for name in layers
        }

    @property
    def needs_spikes(self) -> bool:
        return self.config.kind in ("stc", "tdann")

    def __call__(
        self,
        model: TopographicSNN,
        output: SpikingOutput | torch.Tensor,
        generator: torch.Generator | None = None,
    ) -> TopoLossParts:
        cfg = self.config
        if cfg.kind == "stc":
            return stc_loss(
                output.spikes,
                self.positions,
                self.widths,
                alpha=cfg.alpha,
                beta=cfg.beta,
                clusters_per_layer=cfg.clusters_per_layer,
                cluster_size=cfg.cluster_size,
                window=cfg.window,
                eps=cfg.eps,
                generator=generator,
            )
        if cfg.kind == "tdann":
            rates = {name: output.spikes[name].float().mean(0) for name in self.layers}
            return spatial_correlation_loss(
                rates,
                self.positions,
                self.widths,
                weight=cfg.alpha,
                clusters_per_layer=cfg.clusters_per_layer,
                cluster_size=cfg.cluster_size,
                eps=cfg.eps,
                generator=generator,
            )
        zero = torch.zeros((), device=next(model.parameters()).device)
        if cfg.kind == "topoloss":
            raw = sum(
                topoloss(model.topographic_weight(name), cfg.topoloss_factor)
                for name in self.layers
            )
            return TopoLossParts(cfg.alpha * raw, raw, zero)
        return TopoLossParts(zero, zero, zero)
