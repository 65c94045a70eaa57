"""The topographic term of the training objective, chosen by ``topography.kind`` in the config."""

from __future__ import annotations

import torch

from tdsnn_core.config import TopographyConfig
from tdsnn_core.losses.clusters import cluster_extent_mm, sample_clusters
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

    def cluster_report(self, draws: int = 200, seed: int = 0) -> dict[str, dict[str, float]]:
        """Per layer: the width used, and the median units and extent (mm) of ``draws`` sampled
        clusters, and the fraction with at least 3 units (those the loss averages over)."""
        if not self.needs_spikes:
            return {}
        gen = torch.Generator().manual_seed(seed)
        report = {}
        for name in self.layers:
            pos = self.positions[name].cpu().float()
            clusters = sample_clusters(pos, self.widths[name], self.config.cluster_size, draws, gen)
            report[name] = {
                "width_mm": self.widths[name],
                "median_units": float(clusters.sizes.double().median()),
                "median_extent_mm": float(cluster_extent_mm(pos, clusters).double().median()),
                "valid_fraction": float(clusters.valid.double().mean()),
            }
        return report

    def out_of_range(self, parts: TopoLossParts) -> str | None:
        """Why ``parts`` cannot be right, or None. Each layer's L_L and L_S lie in [0, 1], so
        their sums over the layers lie in [0, number of layers]; anything else is a bug (e.g.
        a variance that cancelled in low precision), not a loss to train on."""
        if not self.needs_spikes:
            return None
        bound = len(self.layers) + 1e-4
        for label, value in (("L_L", parts.rate.item()), ("L_S", parts.timing.item())):
            if not -1e-4 <= value <= bound:
                return f"{label} = {value:.6g} is outside [0, {len(self.layers)}]"
        return None

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
