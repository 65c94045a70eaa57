"""Test models for the analysis tests: a hand-wired spiking network whose classes each
depend on one patch of units, and a tiny sresnet_mini checkpoint maker."""

from __future__ import annotations

import numpy as np
import torch
from spikingjelly.activation_based import layer, neuron, surrogate

from tdsnn_core.checkpoints import save_checkpoint
from tdsnn_core.models import TopographicSNN, TopoLayer, create_model
from tdsnn_core.sheets import CorticalSheet, build_sheets

N_CLASSES = 3
UNITS_PER_CLASS = 2
PATCH_SPACING_MM = 10.0


class PatchNet(TopographicSNN):
    """Class k's image (4 pixels, pixel k lit) drives units 2k and 2k+1 of layer "it" (LIF,
    tau 2) to spike at every step; logit k counts the spikes of those two units.

    Silencing class k's units leaves its images with all-zero logits, which argmax reads as
    class 0: lesioning class 1 or 2 loses exactly that class.
    """

    def __init__(self) -> None:
        super().__init__("patchnet", {}, timesteps=4, input_mean=[0.0], input_std=[1.0])
        n_units = N_CLASSES * UNITS_PER_CLASS
        self.encode = layer.Linear(4, n_units, bias=False, step_mode="m")
        self.lif = neuron.LIFNode(tau=2.0, surrogate_function=surrogate.ATan(), step_mode="m")
        self.silencer_it = self._register_topographic(TopoLayer("it", "IT", (n_units, 1, 1), 1.0))
        self.fc = layer.Linear(n_units, N_CLASSES, step_mode="m")
        with torch.no_grad():
            self.encode.weight.zero_()
            self.fc.weight.zero_()
            self.fc.bias.zero_()
            for k in range(N_CLASSES):
                units = slice(UNITS_PER_CLASS * k, UNITS_PER_CLASS * (k + 1))
                self.encode.weight[units, k] = 10.0
                self.fc.weight[k, units] = 1.0
        self.num_classes = N_CLASSES

    def forward_steps(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        spikes = self.silencer_it(self.lif(self.encode(x.flatten(2))).view(*x.shape[:2], -1, 1, 1))
        return spikes.flatten(2), {"it": spikes}


def patch_images(per_class: int = 4) -> tuple[torch.Tensor, np.ndarray]:
    """``per_class`` copies of each class's image [N, 1, 2, 2] and their labels."""
    labels = np.repeat(np.arange(N_CLASSES), per_class)
    images = torch.zeros(len(labels), 1, 2, 2)
    images.view(len(labels), 4)[torch.arange(len(labels)), torch.as_tensor(labels)] = 1.0
    return images, labels


def patch_sheet() -> CorticalSheet:
    """Class k's two units 1 mm apart around (10 k + 5, 5) mm on a 30 mm sheet."""
    centres = np.repeat((np.arange(N_CLASSES) * PATCH_SPACING_MM + 5.0), UNITS_PER_CLASS)
    offsets = np.tile([-0.5, 0.5], N_CLASSES)
    positions = np.column_stack([centres + offsets, np.full(len(centres), 5.0)])
    n_units = N_CLASSES * UNITS_PER_CLASS
    return CorticalSheet("it", "IT", (n_units, 1, 1), positions.astype(np.float32), 30.0, 5.0)


def make_checkpoint(path, v_threshold: float = 0.2, seed: int = 0) -> None:
    """An untrained sresnet_mini (low threshold, so every layer spikes) with retinotopic sheets."""
    torch.manual_seed(seed)
    model = create_model("sresnet_mini", v_threshold=v_threshold)
    layers = [(t.name, t.area, t.dims, t.downsampling) for t in model.topographic_layers()]
    save_checkpoint(path, model, build_sheets(layers, seed=seed), {})
