"""The plugin's test, run by Brain-Score on submission (and by ``make brainscore-test``): the
model loads by its identifier and answers every region with time bins and tissue coordinates,
on generated images (nothing is downloaded)."""

from __future__ import annotations

import brainscore_vision
import numpy as np
import pandas as pd
import pytest
from brainscore_core.supported_data_standards.brainio.stimuli import StimulusSet
from PIL import Image

from .model import IDENTIFIER, REGION_LAYER_MAP, TIME_MAPPING


@pytest.fixture(scope="module")
def model():
    return brainscore_vision.load_model(IDENTIFIER)


@pytest.fixture(scope="module")
def stimuli(tmp_path_factory) -> StimulusSet:
    """Six random 64 px colour images on disk."""
    folder = tmp_path_factory.mktemp("stimuli")
    rng = np.random.default_rng(0)
    ids = [f"image{i}" for i in range(6)]
    for stimulus_id in ids:
        pixels = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{stimulus_id}.png")
    stimulus_set = StimulusSet(pd.DataFrame({"stimulus_id": ids}))
    stimulus_set.stimulus_paths = {i: folder / f"{i}.png" for i in ids}
    stimulus_set.identifier = None  # not cached
    return stimulus_set


def test_has_identifier(model) -> None:
    assert model.identifier == IDENTIFIER


@pytest.mark.parametrize("region", list(REGION_LAYER_MAP))
def test_region_responses_carry_tissue_coordinates(model, stimuli, region: str) -> None:
    model.start_recording(region, time_bins=[(70, 170)])
    responses = model.look_at(stimuli)
    assert set(responses.dims) == {"presentation", "neuroid"}
    assert list(responses["stimulus_id"].values) == list(stimuli["stimulus_id"])
    assert set(responses["region"].values) == {region}
    assert set(responses["layer"].values) == {REGION_LAYER_MAP[region]}
    network = model.activations_model.network
    x, y = network.tissue(REGION_LAYER_MAP[region])
    units = responses["neuroid_num"].values
    np.testing.assert_allclose(responses["tissue_x"].values, x[units])
    np.testing.assert_allclose(responses["tissue_y"].values, y[units])
    assert len(units) == len(x)
    values = responses.values
    assert np.isfinite(values).all() and values.min() >= 0 and values.max() <= 1


def test_time_bins_are_the_spikes_of_each_timestep(model, stimuli) -> None:
    region = next(iter(REGION_LAYER_MAP))
    bins = list(TIME_MAPPING[region].values())
    model.start_recording(region, time_bins=bins)
    responses = model.look_at(stimuli).transpose("presentation", "neuroid", "time_bin")
    network = model.activations_model.network
    layer = REGION_LAYER_MAP[region]
    paths = [stimuli.stimulus_paths[i] for i in responses["stimulus_id"].values]
    names = [f"{layer}-t{t}" for t in range(len(bins))]
    direct = network.activations(network.preprocess(paths), names)
    order = responses["neuroid_num"].values
    for t, name in enumerate(names):
        expected = direct[name].reshape(len(paths), -1)[:, order]
        np.testing.assert_array_equal(responses.values[:, :, t], expected)
