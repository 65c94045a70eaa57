"""Spikes of a grating or an uploaded image, in each output form, equal the model's own."""

from __future__ import annotations

import numpy as np
import pytest
from service_helpers import png, run_direct, upload_input

from backend.client import TDSNNClient
from backend.encoding import unpack_spikes
from tdsnn_core.data import sine_grating

GRATING = {"orientation_deg": 30.0, "cycles_per_image": 3.0, "phase_deg": 90.0, "contrast": 0.8}


def assert_prediction(top_k: list[dict], probabilities: np.ndarray, k: int) -> None:
    assert [p["index"] for p in top_k] == list(np.argsort(-probabilities, kind="stable")[:k])
    np.testing.assert_allclose([p["probability"] for p in top_k], np.sort(probabilities)[::-1][:k])


@pytest.mark.parametrize("model_id", ["mini", "tiny"])
def test_binary_grating_equals_direct_run(server, local, model_id):
    ckpt = local[model_id]
    with TDSNNClient(server) as client:
        result = client.spikes(model_id, grating=GRATING, top_k=3)
    image = sine_grating(ckpt.model.config["input_size"], *GRATING.values())
    expected, probabilities = run_direct(ckpt, image)
    assert result.timesteps == ckpt.model.timesteps and list(result.spikes) == list(expected)
    for name, spikes in expected.items():
        np.testing.assert_array_equal(result.spikes[name], spikes)
    assert sum(s.sum() for s in expected.values()) > 0
    assert_prediction(result.prediction, probabilities, 3)


def test_binary_upload_equals_direct_run_with_layers_and_timesteps(server, local):
    data = png()
    with TDSNNClient(server) as client:
        result = client.spikes("mini", image=data, layers=["layer4.1", "layer2.0"], timesteps=6)
    expected, probabilities = run_direct(local["mini"], upload_input(data, 28), timesteps=6)
    assert list(result.spikes) == ["layer4.1", "layer2.0"]
    for name, spikes in result.spikes.items():
        assert spikes.shape == (6, *local["mini"].sheets[name].dims)
        np.testing.assert_array_equal(spikes, expected[name])
    assert_prediction(result.prediction, probabilities, 5)


def test_binary_size_is_close_to_the_bit_packed_minimum(http):
    response = http.post("/v1/models/mini/spikes", json={"stimulus": GRATING})
    _, spikes = unpack_spikes(response.content)
    minimum = sum(-(-s.size // 8) for s in spikes.values())
    assert response.headers["content-type"] == "application/x-tdsnn-spikes"
    assert len(response.content) <= 1.1 * minimum


def test_raster_equals_binning_of_direct_spikes(http, local):
    data, cells = png(seed=1), 5
    response = http.post(
        "/v1/models/mini/spikes",
        files={"image": ("x.png", data, "image/png")},
        data={"options": f'{{"output": "raster", "raster_cells": {cells}}}'},
    )
    body = response.json()
    expected, probabilities = run_direct(local["mini"], upload_input(data, 28))
    assert body["cells"] == cells and [layer["name"] for layer in body["layers"]] == list(expected)
    for layer in body["layers"]:
        sheet = local["mini"].sheets[layer["name"]]
        edges = np.linspace(0, sheet.size_mm, cells + 1)
        edges[-1] = np.inf  # float32 positions clipped to the edge may exceed it in float64
        x, y = sheet.positions.T
        units, _, _ = np.histogram2d(y, x, bins=[edges, edges])
        np.testing.assert_array_equal(layer["units"], units)
        for step, fired in enumerate(expected[layer["name"]].reshape(4, -1)):
            counts, _, _ = np.histogram2d(y[fired], x[fired], bins=[edges, edges])
            np.testing.assert_array_equal(layer["counts"][step], counts)
    assert_prediction(body["prediction"]["top_k"], probabilities, 5)


def test_json_form_lists_firing_units(server, local):
    with TDSNNClient(server) as client:
        body = client.spikes("tiny", grating={"orientation_deg": 90}, output="json", timesteps=3)
    expected, _ = run_direct(local["tiny"], sine_grating(16, 90, 4.0), timesteps=3)
    assert body["timesteps"] == 3
    for layer in body["layers"]:
        fired = expected[layer["name"]].reshape(3, -1)
        assert layer["fired"] == [np.flatnonzero(step).tolist() for step in fired]
