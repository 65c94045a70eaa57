"""The spikes route's nwb output: one trial whose spike times are the binary output's spikes
and the model's own, on the served sheets, and which nwbinspector passes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from nwbinspector import Importance, inspect_nwbfile
from pynwb import NWBHDF5IO
from service_helpers import png, run_direct, upload_input

from backend.client import TDSNNClient
from tdsnn_core.data import sine_grating

GRATING = {"orientation_deg": 60.0, "cycles_per_image": 2.5, "phase_deg": 45.0, "contrast": 0.7}
LAYERS = ["layer3.1", "layer1.0"]


def units_and_trial(content: bytes, path: Path) -> tuple[dict, list[np.ndarray], dict]:
    """(unit columns, spike times per unit, the trial's columns) of an NWB answer."""
    path.write_bytes(content)
    with NWBHDF5IO(path, "r") as io:
        nwbfile = io.read()
        units, trials = nwbfile.units, nwbfile.trials
        columns = {
            name: np.asarray(units[name].data[:]) for name in ("layer", "unit", "sheet_x_mm")
        }
        times = [np.asarray(units.get_unit_spike_times(i)) for i in range(len(units))]
        trial = {name: trials[name].data[0] for name in trials.colnames}
    return columns, times, trial


def test_nwb_grating_holds_the_binary_answer(server, local, tmp_path):
    with TDSNNClient(server) as client:
        content = client.spikes("mini", grating=GRATING, layers=LAYERS, timesteps=3, output="nwb")
        binary = client.spikes("mini", grating=GRATING, layers=LAYERS, timesteps=3)
    assert isinstance(content, bytes) and content[:8] == b"\x89HDF\r\n\x1a\n"
    columns, times, trial = units_and_trial(content, tmp_path / "grating.nwb")
    direct, _ = run_direct(local["mini"], sine_grating(28, *GRATING.values()), timesteps=3)
    row = 0
    for layer in LAYERS:
        spikes = binary.spikes[layer].reshape(3, -1)
        np.testing.assert_array_equal(spikes, direct[layer].reshape(3, -1))
        sheet = local["mini"].sheets[layer]
        rows = slice(row, row + sheet.num_units)
        assert set(columns["layer"][rows]) == {layer}
        np.testing.assert_array_equal(columns["sheet_x_mm"][rows], sheet.positions[:, 0])
        for unit in range(sheet.num_units):
            expected = np.flatnonzero(spikes[:, unit]) * 0.001  # timestep t at t * 1 ms
            np.testing.assert_array_equal(times[row + unit], expected)
        row += sheet.num_units
    assert row == len(times) and sum(map(len, times)) == sum(
        direct[layer].sum() for layer in LAYERS
    )
    assert trial["start_time"] == 0.0 and trial["stop_time"] == 0.003
    assert {k: trial[k] for k in GRATING} == GRATING


def test_nwb_upload_is_one_trial_that_passes_nwbinspector(http, local, tmp_path):
    data = png(seed=3)
    response = http.post(
        "/v1/models/tiny/spikes",
        files={"image": ("x.png", data, "image/png")},
        data={"options": json.dumps({"output": "nwb"})},
    )
    assert response.status_code == 200 and response.headers["content-type"] == "application/x-nwb"
    path = tmp_path / "upload.nwb"
    _, times, trial = units_and_trial(response.content, path)
    direct, _ = run_direct(local["tiny"], upload_input(data, 16))
    flat = np.concatenate([s.reshape(2, -1) for s in direct.values()], axis=1)
    assert [list(np.flatnonzero(col)) for col in flat.T] == [list(np.rint(t * 1000)) for t in times]
    assert trial["image"] == "upload"
    problems = [
        m.message
        for m in inspect_nwbfile(nwbfile_path=path)
        if m.importance.value > Importance.BEST_PRACTICE_SUGGESTION.value
    ]
    assert problems == []


def test_openapi_describes_the_nwb_output(http):
    document = http.get("/openapi.json").json()
    operation = document["paths"]["/v1/models/{model_id}/spikes"]["post"]
    assert "application/x-nwb" in operation["responses"]["200"]["content"]
    output = document["components"]["schemas"]["SpikeOptions"]["properties"]["output"]
    assert "nwb" in output["enum"] and "NWB" in output["description"]
