"""The service serves the model zoo: untrained spikformer_mini and cornet_rt_mini checkpoints
are described and their spikes over HTTP equal a direct run of the same checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from service_helpers import run_direct, start_server

from backend.client import TDSNNClient
from tdsnn_core.checkpoints import load_checkpoint, save_checkpoint
from tdsnn_core.data import sine_grating
from tdsnn_core.models import create_model
from tdsnn_core.sheets import build_sheets

ZOO = {"spikformer_mini": "V1", "cornet_rt_mini": "V1"}  # model -> area of its first layer
GRATING = {"orientation_deg": 60.0, "cycles_per_image": 4.0, "phase_deg": 0.0, "contrast": 1.0}


@pytest.fixture(scope="module")
def zoo(tmp_path_factory) -> tuple[str, Path]:
    """A running server of a folder holding one tiny untrained checkpoint of each zoo model."""
    folder = tmp_path_factory.mktemp("zoo_models")
    for name in ZOO:
        torch.manual_seed(0)
        model = create_model(name, num_classes=4)
        layers = [(t.name, t.area, t.dims, t.downsampling) for t in model.topographic_layers()]
        meta = {"train_config": {"data": {"kind": "gratings"}}, "epoch": 0, "metrics": {}}
        save_checkpoint(folder / f"{name}.safetensors", model, build_sheets(layers), meta)
    log = tmp_path_factory.mktemp("zoo_logs") / "server.log"
    process, url = start_server(folder, log)
    yield url, folder
    process.terminate()
    process.wait(timeout=30)


def test_models_are_listed_with_their_layers(zoo) -> None:
    url, folder = zoo
    with TDSNNClient(url) as client:
        listing = {m["id"]: m for m in client.models()["models"]}
        assert set(listing) == set(ZOO)
        for name, first_area in ZOO.items():
            info = client.model(name, positions=False)
            ckpt = load_checkpoint(folder / f"{name}.safetensors")
            assert info["architecture"] == name and info["timesteps"] == ckpt.model.timesteps
            layers = ckpt.model.topographic_layers()
            assert [layer["name"] for layer in info["layers"]] == [t.name for t in layers]
            assert [tuple(layer["dims"]) for layer in info["layers"]] == [t.dims for t in layers]
            assert info["layers"][0]["area"] == first_area and info["layers"][-1]["area"] == "IT"


@pytest.mark.parametrize("name", list(ZOO))
def test_spikes_over_http_equal_a_direct_run(zoo, name: str) -> None:
    url, folder = zoo
    torch.set_num_threads(1)
    ckpt = load_checkpoint(folder / f"{name}.safetensors")
    with TDSNNClient(url) as client:
        result = client.spikes(name, grating=GRATING, top_k=2)
    image = sine_grating(ckpt.model.config["input_size"], *GRATING.values())
    expected, probabilities = run_direct(ckpt, image)
    assert result.timesteps == ckpt.model.timesteps and list(result.spikes) == list(expected)
    for layer, spikes in expected.items():
        assert spikes.shape == (ckpt.model.timesteps, *ckpt.sheets[layer].dims)
        np.testing.assert_array_equal(result.spikes[layer], spikes)
        assert spikes.any(), layer  # every layer of the untrained model fires
    assert [p["index"] for p in result.prediction] == list(np.argsort(-probabilities)[:2])


@pytest.mark.parametrize("name", list(ZOO))
def test_lesioned_spikes_silence_the_disc_at_every_step(zoo, name: str) -> None:
    url, _ = zoo
    with TDSNNClient(url) as client:
        info = client.model(name)
        first = info["layers"][0]
        centre = first["size_mm"] / 2
        lesion = {"layer": first["name"], "x_mm": centre, "y_mm": centre, "radius_mm": centre / 2}
        intact = client.spikes(name, grating=GRATING)
        hit = client.spikes(name, grating=GRATING, lesion=lesion)
    distance = np.linalg.norm(first["positions"] - centre, axis=1)
    inside = distance <= centre / 2
    before = intact.spikes[first["name"]].reshape(info["timesteps"], -1)
    after = hit.spikes[first["name"]].reshape(info["timesteps"], -1)
    assert before[:, inside].any() and not after[:, inside].any()
    assert after[:, ~inside].any()
    last = info["layers"][-1]["name"]
    assert not np.array_equal(hit.spikes[last], intact.spikes[last])  # it reaches IT
