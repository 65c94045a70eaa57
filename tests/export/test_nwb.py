"""`tdsnn export nwb`: the file read back with pynwb holds exactly the recorded spikes, the
units' sheet positions and the stimuli, and nwbinspector finds nothing above a suggestion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from nwbinspector import Importance, inspect_nwbfile
from PIL import Image
from pynwb import NWBHDF5IO

from tdsnn_core.analysis.probes import load_probe_folder
from tdsnn_core.analysis.stimuli import grating_set
from tdsnn_core.cli import main
from tdsnn_core.export.nwb import MODELLED_SPECIES, ModelRecord, TrialColumn, build_nwb
from tdsnn_core.recording import record_spikes

LAYERS = ["layer4.1", "layer1.0"]  # not in model order: the file keeps the order asked for
DT_MS, TIMESTEPS = 2.5, 3
UNIT_COLUMNS = ("layer", "area", "unit", "channel", "sheet_x_mm", "sheet_y_mm")


def read_export(path: Path) -> dict:
    """Everything the tests check, read with pynwb's own API."""
    with NWBHDF5IO(path, "r") as io:
        nwbfile = io.read()
        units = nwbfile.units
        binned = nwbfile.processing["ecephys"]["BinnedAlignedSpikes"]
        return {
            "units": {name: np.asarray(units[name].data[:]) for name in UNIT_COLUMNS},
            "times": [np.asarray(units.get_unit_spike_times(i)) for i in range(len(units))],
            "resolution": units.resolution,
            "trials": {
                name: np.asarray(nwbfile.trials[name].data[:]) for name in nwbfile.trials.colnames
            },
            "binned": binned.data[:],
            "bin_width_ms": binned.bin_width_in_ms,
            "event_timestamps": binned.event_timestamps[:],
            "region": binned.units_region.data[:],
            "subject": (nwbfile.subject.subject_id, nwbfile.subject.species),
        }


def export(*args: str) -> int:
    return main(["export", "nwb", *args, "--device", "cpu"])


def expected_times(spikes: np.ndarray, unit: int, dt_s: float) -> np.ndarray:
    """Documented time of each spike of ``unit`` in spikes [T, S, N]: (trial*T + t) * dt."""
    trial, step = np.nonzero(spikes[:, :, unit].T)
    return (trial * spikes.shape[0] + step) * dt_s


def serious_problems(path: Path) -> list[str]:
    """nwbinspector's messages above a best-practice suggestion (violations, critical, errors)."""
    return [
        f"{m.importance.name} {m.check_function_name}: {m.message}"
        for m in inspect_nwbfile(nwbfile_path=path)
        if m.importance.value > Importance.BEST_PRACTICE_SUGGESTION.value
    ]


@pytest.fixture(scope="module")
def gratings_export(tmp_path_factory, checkpoint_path, ckpt):
    out = tmp_path_factory.mktemp("export") / "gratings.nwb"
    args = [str(checkpoint_path), "--stimuli", "gratings", "--out", str(out), "--layers", *LAYERS]
    assert export(*args, "--dt-ms", str(DT_MS), "--timesteps", str(TIMESTEPS)) == 0
    gratings = grating_set(16, 1)
    spikes = record_spikes(ckpt.model, gratings.images, LAYERS, timesteps=TIMESTEPS)
    return out, read_export(out), spikes, gratings


def test_spike_times_are_the_recorded_spikes(gratings_export):
    _, read, spikes, _ = gratings_export
    dt_s = DT_MS / 1000
    rows = [(layer, unit) for layer in LAYERS for unit in range(spikes[layer].shape[2])]
    assert len(read["times"]) == len(rows) and read["resolution"] == dt_s
    for row, (layer, unit) in enumerate(rows):
        times, expected = read["times"][row], expected_times(spikes[layer], unit, dt_s)
        np.testing.assert_array_equal(times, expected)
        np.testing.assert_array_equal(np.rint(times / dt_s), np.rint(expected / dt_s))
    assert sum(len(t) for t in read["times"]) == sum(int(s.sum()) for s in spikes.values()) > 0


def test_units_sit_at_their_sheet_positions(gratings_export, ckpt):
    _, read, _, _ = gratings_export
    units = read["units"]
    for layer in LAYERS:
        sheet, rows = ckpt.sheets[layer], units["layer"] == layer
        c, h, w = sheet.dims
        assert set(units["area"][rows]) == {sheet.area}
        np.testing.assert_array_equal(units["unit"][rows], np.arange(c * h * w))
        np.testing.assert_array_equal(units["channel"][rows], np.arange(c * h * w) // (h * w))
        np.testing.assert_array_equal(units["sheet_x_mm"][rows], sheet.positions[:, 0])
        np.testing.assert_array_equal(units["sheet_y_mm"][rows], sheet.positions[:, 1])
    assert list(dict.fromkeys(units["layer"])) == LAYERS


def test_one_trial_per_grating_with_its_parameters(gratings_export):
    _, read, _, gratings = gratings_export
    trials, n = read["trials"], len(gratings.images)
    length = TIMESTEPS * DT_MS / 1000
    np.testing.assert_allclose(trials["start_time"], np.arange(n) * length, rtol=1e-12)
    np.testing.assert_array_equal(trials["stop_time"][:-1], trials["start_time"][1:])
    orientation, frequency, phase = np.meshgrid(
        gratings.orientations_deg, gratings.frequencies, gratings.phases_deg, indexing="ij"
    )
    np.testing.assert_array_equal(trials["orientation_deg"], orientation.ravel())
    np.testing.assert_array_equal(trials["cycles_per_image"], frequency.ravel())
    np.testing.assert_array_equal(trials["phase_deg"], phase.ravel())
    assert set(trials["color"]) == {"grey"} and set(trials["contrast"]) == {1.0}


def test_binned_spikes_are_the_raster(gratings_export):
    _, read, spikes, _ = gratings_export
    expected = np.concatenate([spikes[layer].transpose(2, 1, 0) for layer in LAYERS])
    np.testing.assert_array_equal(read["binned"], expected)
    assert read["bin_width_ms"] == DT_MS
    np.testing.assert_array_equal(read["event_timestamps"], read["trials"]["start_time"])
    np.testing.assert_array_equal(read["region"], np.arange(len(expected)))


def test_nwbinspector_finds_no_violation(gratings_export):
    path, read, _, _ = gratings_export
    assert serious_problems(path) == []
    assert read["subject"] == ("tiny", MODELLED_SPECIES)


def test_folder_export_names_every_image(tmp_path, checkpoint_path, ckpt):
    folder = tmp_path / "stimuli"
    for index, name in enumerate(["faces/b.png", "faces/a.png", "places/c.jpg"]):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        pixels = np.random.default_rng(index).integers(0, 256, (20, 24, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / name)
    (folder / "bodies").mkdir()  # empty: no category
    (folder / "places" / "notes.txt").write_text("not an image")
    out = tmp_path / "folder.nwb"
    assert export(str(checkpoint_path), "--stimuli", str(folder), "--out", str(out)) == 0
    read = read_export(out)
    assert list(read["trials"]["category"]) == ["faces", "faces", "places"]
    assert list(read["trials"]["image_file"]) == ["faces/a.png", "faces/b.png", "places/c.jpg"]
    images = load_probe_folder(folder, 16, 1).images
    spikes = record_spikes(ckpt.model, images)
    expected = np.concatenate([s.transpose(2, 1, 0) for s in spikes.values()])
    np.testing.assert_array_equal(read["binned"], expected)
    assert serious_problems(out) == []


def test_probe_export_lists_categories(tmp_path, checkpoint_path):
    out = tmp_path / "probes.nwb"
    args = ["--stimuli", "probes", "--probes-per-category", "2", "--out", str(out)]
    assert export(str(checkpoint_path), *args, "--layers", "layer2.0") == 0
    trials = read_export(out)["trials"]
    categories, counts = np.unique(trials["category"], return_counts=True)
    assert {"faces", "characters", "places", "objects"} <= set(categories)
    assert set(counts) == {2} and len(trials["category_source"]) == 2 * len(categories)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.safetensors", "--stimuli", "gratings"], "missing.safetensors: no such file"),
        (["CKPT", "--stimuli", "gratings", "--layers", "V9"], "unknown layer(s) ['V9']"),
        (["CKPT", "--stimuli", "EMPTY"], "holds no category subfolder with images"),
        (["CKPT", "--stimuli", "grating"], "neither 'gratings', 'probes' nor a folder"),
        (["CKPT", "--stimuli", "gratings", "--dt-ms", "0"], "dt must be a positive number"),
        (["CKPT", "--stimuli", "gratings", "--timesteps", "0"], "--timesteps must be at least 1"),
    ],
)
def test_bad_input_is_one_line(tmp_path, checkpoint_path, capsys, args, message):
    (tmp_path / "empty").mkdir()
    out = tmp_path / "x.nwb"
    swap = {"CKPT": str(checkpoint_path), "EMPTY": str(tmp_path / "empty")}
    assert export(*[swap.get(a, a) for a in args], "--out", str(out)) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and message in error and "\n" not in error, error
    assert not out.exists() and list(tmp_path.iterdir()) == [tmp_path / "empty"]


def test_builder_refuses_inconsistent_spikes(ckpt):
    record = ModelRecord.of_checkpoint(ckpt)
    sheet = ckpt.sheets["layer4.1"]
    good = np.zeros((2, 1, sheet.num_units), np.uint8)
    trials = {"x": TrialColumn(["a"], "a trial")}
    with pytest.raises(ValueError, match="units of spikes, its sheet has"):
        build_nwb({"layer4.1": good[:, :, 1:]}, ckpt.sheets, trials, record)
    with pytest.raises(ValueError, match="0 or 1"):
        build_nwb({"layer4.1": good + 2}, ckpt.sheets, trials, record)
    with pytest.raises(ValueError, match="has 2 values for 1 trials"):
        build_nwb({"layer4.1": good}, ckpt.sheets, {"x": TrialColumn(["a", "b"], "")}, record)
    assert record.model_id == "tiny" and record.created.tzinfo is not None
