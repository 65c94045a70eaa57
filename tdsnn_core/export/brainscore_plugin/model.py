"""Brain-Score glue: the exported spiking model as a ``BrainModel``.

Layers are committed to regions by the exporter (``REGION_LAYER_MAP``: no layer selection is
run); each region's layer is recorded at every timestep and its responses carry a ``time_bin``
dimension (``TIME_MAPPING``: region -> {timestep: (start_ms, end_ms)}, as Brain-Score's CORnet
plugins map time), which ``TemporalAligned`` averages onto the requested bins. Every neuroid
carries ``tissue_x`` / ``tissue_y``: its position in mm on its area's cortical sheet, as the
spatial benchmarks read it.
"""

from __future__ import annotations

import numpy as np
from brainscore_core.supported_data_standards.brainio.assemblies import (
    NeuroidAssembly,
    walk_coords,
)
from brainscore_vision.model_helpers.activations.pytorch import PytorchWrapper
from brainscore_vision.model_helpers.brain_transformation import ModelCommitment
from brainscore_vision.model_helpers.brain_transformation.neural import LayerMappedModel
from brainscore_vision.model_helpers.brain_transformation.temporal import TemporalAligned

from .network import STEP, SpikingNetwork, plugin_settings, split_step

SETTINGS = plugin_settings()
IDENTIFIER: str = SETTINGS["identifier"]
REGION_LAYER_MAP: dict[str, str] = SETTINGS["region_layer_map"]
TIME_MAPPING: dict[str, dict[int, tuple[float, float]]] = {
    region: {t: (float(start), float(end)) for t, (start, end) in enumerate(bins)}
    for region, bins in SETTINGS["time_mapping"].items()
}


class SpikingWrapper(PytorchWrapper):
    """Brain-Score's activations extractor over :class:`~.network.SpikingNetwork`."""

    def __init__(self, network: SpikingNetwork, identifier: str) -> None:
        self.network = network
        super().__init__(
            model=network.model, preprocessing=network.preprocess, identifier=identifier
        )

    def get_activations(self, images, layer_names):
        return self.network.activations(images, layer_names)


class TimedLayers(LayerMappedModel):
    """A region's layer at every timestep: [presentation, neuroid, time_bin], with tissue
    coordinates on the neuroids."""

    def __init__(self, identifier: str, wrapper: SpikingWrapper, visual_degrees: float) -> None:
        super().__init__(identifier, wrapper, dict(REGION_LAYER_MAP), visual_degrees)
        self.network = wrapper.network

    def run_activations(self, stimuli, layers, number_of_trials=1, require_variance=None):
        steps = range(self.network.timesteps)
        flat = self.activations_model(
            stimuli,
            layers=[f"{layer}{STEP}{t}" for layer in layers for t in steps],
            number_of_trials=number_of_trials,
            require_variance=require_variance,
        ).transpose("presentation", "neuroid")
        names = flat["layer"].values
        picks = [
            np.concatenate([np.flatnonzero(names == f"{layer}{STEP}{t}") for layer in layers])
            for t in steps
        ]
        values = np.stack([flat.values[:, pick] for pick in picks], axis=-1)
        first = flat.isel(neuroid=picks[0])
        neuroid = {
            coord: values_
            for coord, dims, values_ in walk_coords(first)
            if dims == ("neuroid",) and coord not in ("layer", "neuroid_id")
        }
        units = list(
            zip(
                [split_step(name)[0] for name in names[picks[0]]],
                np.asarray(neuroid["neuroid_num"], dtype=int),
                strict=True,
            )
        )
        tissue = {layer: self.network.tissue(layer) for layer in layers}
        neuroid["layer"] = [layer for layer, _ in units]
        neuroid["neuroid_id"] = [f"{IDENTIFIER}.{layer}.{n}" for layer, n in units]
        neuroid["tissue_x"] = [tissue[layer][0][n] for layer, n in units]
        neuroid["tissue_y"] = [tissue[layer][1][n] for layer, n in units]
        region = next(r for r, layer in REGION_LAYER_MAP.items() if layer == layers[0])
        bins = [TIME_MAPPING[region][t] for t in steps]
        coords = {
            **{c: (d, v) for c, d, v in walk_coords(flat) if d == ("presentation",)},
            **{c: ("neuroid", v) for c, v in neuroid.items()},
            "time_bin_start": ("time_bin", [start for start, _ in bins]),
            "time_bin_end": ("time_bin", [end for _, end in bins]),
        }
        return NeuroidAssembly(values, coords=coords, dims=["presentation", "neuroid", "time_bin"])


class TopographicCommitment(ModelCommitment):
    """The model committed to V1/V2/V4/IT (fixed layers), in time, with tissue coordinates."""

    def __init__(self, network: SpikingNetwork, visual_degrees: float) -> None:
        wrapper = SpikingWrapper(network, IDENTIFIER)
        layers = list(REGION_LAYER_MAP.values())
        super().__init__(
            IDENTIFIER,
            activations_model=wrapper,
            layers=layers,
            region_layer_map=dict(REGION_LAYER_MAP),
            visual_degrees=visual_degrees,
        )
        self.layer_model = TemporalAligned(TimedLayers(IDENTIFIER, wrapper, visual_degrees))


def get_model(identifier: str = IDENTIFIER) -> TopographicCommitment:
    """The plugin's BrainModel (``brainscore_vision.load_model(IDENTIFIER)`` returns it)."""
    if identifier != IDENTIFIER:
        raise ValueError(f"this plugin holds {IDENTIFIER!r}, not {identifier!r}")
    return TopographicCommitment(SpikingNetwork(), SETTINGS["visual_degrees"])


def get_layers(identifier: str = IDENTIFIER) -> list[str]:
    return list(REGION_LAYER_MAP.values())


def get_bibtex(identifier: str = IDENTIFIER) -> str:
    return SETTINGS["bibtex"]
