"""The exported spiking model without Brain-Score: image files -> activations per timestep.

``plugin.json`` beside this file names the weights (a TDSNN safetensors checkpoint: weights,
cortical sheets, metadata), the region of each layer and the time bin of each timestep. Layer
names: ``"<layer>-t<k>"`` is the layer's spikes at timestep k, ``"<layer>"`` its firing rate
(mean over T), ``"logits"`` the time-averaged logits. Unit ``c*H*W + h*W + w`` of a layer (its
output flattened from (C, H, W), as Brain-Score flattens it) sits at tissue position
``tissue(layer)[unit]`` in mm on its area's cortical sheet.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from tdsnn_core.checkpoints import load_checkpoint

HERE = Path(__file__).resolve().parent
STEP = "-t"


def plugin_settings(folder: Path = HERE) -> dict:
    """The exporter's record: identifier, weights, region_layer_map, time_mapping, ..."""
    return json.loads((folder / "plugin.json").read_text())


def split_step(name: str) -> tuple[str, int | None]:
    """``"layer2.0-t3"`` -> ("layer2.0", 3); a name without a timestep -> (name, None)."""
    layer, sep, step = name.rpartition(STEP)
    return (layer, int(step)) if sep and step.isdigit() else (name, None)


class SpikingNetwork:
    """The plugin's model and sheets on ``device`` (default: CUDA when there is one)."""

    def __init__(self, folder: Path = HERE, device: str | None = None) -> None:
        self.settings = plugin_settings(folder)
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        ckpt = load_checkpoint(folder / self.settings["weights"], device)
        self.model, self.sheets = ckpt.model.eval(), ckpt.sheets
        self.timesteps = ckpt.model.timesteps
        self.input_size = ckpt.model.config["input_size"]
        self.channels = ckpt.model.config["in_channels"]

    def preprocess(self, paths: Sequence[str | Path]) -> np.ndarray:
        """Image files as the model's input: [N, C, S, S] float32 in [0, 1] (the model
        normalises inside), resized whole to its input size S."""
        mode = "L" if self.channels == 1 else "RGB"
        images = []
        for path in paths:
            with Image.open(path) as image:
                resized = image.convert(mode).resize(
                    (self.input_size, self.input_size), Image.Resampling.BILINEAR
                )
            pixels = np.asarray(resized, dtype=np.float32) / 255.0
            images.append(pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1))
        return np.stack(images)

    @torch.no_grad()
    def activations(
        self, images: np.ndarray | Sequence[np.ndarray], layer_names: Sequence[str]
    ) -> OrderedDict[str, np.ndarray]:
        """{name: [N, ...] float32} for ``"<layer>-t<k>"``, ``"<layer>"`` and ``"logits"``."""
        device = next(self.model.parameters()).device
        batch = torch.as_tensor(np.stack(list(images)), dtype=torch.float32, device=device)
        out = self.model(batch, return_spikes=True)
        results: OrderedDict[str, np.ndarray] = OrderedDict()
        for name in layer_names:
            if name == "logits":
                results[name] = out.logits.float().cpu().numpy()
                continue
            layer, step = split_step(name)
            if layer not in out.spikes:
                raise KeyError(f"unknown layer {name!r}; known: {list(out.spikes)} and 'logits'")
            spikes = out.spikes[layer].float()
            if step is not None and not 0 <= step < self.timesteps:
                raise KeyError(f"{name!r}: the model runs timesteps 0-{self.timesteps - 1}")
            chosen = spikes.mean(0) if step is None else spikes[step]
            results[name] = chosen.cpu().numpy()
        return results

    def tissue(self, layer: str) -> tuple[np.ndarray, np.ndarray]:
        """Every unit's (tissue_x, tissue_y) in mm on the layer's cortical sheet."""
        positions = self.sheets[layer].positions
        return positions[:, 0].astype(np.float64), positions[:, 1].astype(np.float64)
