"""How long an NWB export takes: a synthetic 100,000-unit recording, then a real small model.

    python bench/nwb_export.py [--units 100000] [--stimuli 100] [--timesteps 4] [--rate 0.1]

Part 1 writes random spikes of that shape (two layers, half the units each, on V1 and IT
sheets) through the exporter's own builder and writer, then reads the file back. Part 2 is
``tdsnn export nwb`` on an untrained sresnet_mini (threshold lowered so every layer spikes)
with the grating set: recording and writing timed apart.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from pynwb import NWBHDF5IO

from tdsnn_core.export.nwb import ModelRecord, TrialColumn, build_nwb, write_nwb
from tdsnn_core.export.stimuli import load_stimuli
from tdsnn_core.models import create_model
from tdsnn_core.recording import record_spikes
from tdsnn_core.sheets import AREAS, CorticalSheet, build_sheets


def synthetic(units: int, stimuli: int, timesteps: int, rate: float, folder: Path) -> None:
    rng = np.random.default_rng(0)
    sheets, spikes = {}, {}
    for name, area in (("v1", "V1"), ("it", "IT")):
        n = units // 2
        size = AREAS[area].sheet_size_mm
        positions = rng.uniform(0, size, (n, 2)).astype(np.float32)
        sheets[name] = CorticalSheet(name, area, (n, 1, 1), positions, size, 1.0)
        spikes[name] = (rng.random((timesteps, stimuli, n), np.float32) < rate).astype(np.uint8)
    trials = {"stimulus": TrialColumn(np.arange(stimuli), "index of the synthetic stimulus")}
    record = ModelRecord("synthetic", "none", datetime.now(timezone.utc))
    start = time.perf_counter()
    nwbfile = build_nwb(spikes, sheets, trials, record, stimuli="synthetic stimuli")
    built = time.perf_counter()
    path = write_nwb(nwbfile, folder / "synthetic.nwb")
    written = time.perf_counter()
    with NWBHDF5IO(path, "r") as io:
        times = io.read().units.spike_times.data[:]
    read = time.perf_counter()
    fired = sum(int(s.sum()) for s in spikes.values())
    print(
        f"synthetic: {units} units x {stimuli} stimuli x T={timesteps}, {fired} spikes "
        f"(rate {rate}), file {path.stat().st_size / 1e6:.1f} MB"
    )
    print(f"  build  {built - start:6.2f} s")
    print(f"  write  {written - built:6.2f} s")
    print(f"  total  {written - start:6.2f} s   (read spike times back: {read - written:.2f} s)")
    assert len(times) == fired


def real_model(folder: Path) -> None:
    torch.manual_seed(0)
    model = create_model("sresnet_mini", v_threshold=0.2).eval()
    layers = [(t.name, t.area, t.dims, t.downsampling) for t in model.topographic_layers()]
    sheets = build_sheets(layers)
    stimuli = load_stimuli("gratings", model.config["input_size"], model.config["in_channels"])
    start = time.perf_counter()
    spikes = record_spikes(model, stimuli.images)
    recorded = time.perf_counter()
    record = ModelRecord("sresnet_mini", "sresnet_mini", datetime.now(timezone.utc))
    nwbfile = build_nwb(spikes, sheets, stimuli.trials, record, stimuli=stimuli.name)
    path = write_nwb(nwbfile, folder / "sresnet_mini.nwb")
    written = time.perf_counter()
    units = sum(s.shape[2] for s in spikes.values())
    print(
        f"sresnet_mini (untrained): {units} units x {len(stimuli.images)} gratings x "
        f"T={model.timesteps}, file {path.stat().st_size / 1e6:.1f} MB"
    )
    print(f"  record {recorded - start:6.2f} s")
    print(f"  export {written - recorded:6.2f} s (build + write)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--stimuli", type=int, default=100)
    parser.add_argument("--timesteps", type=int, default=4)
    parser.add_argument("--rate", type=float, default=0.1, help="spike probability per step")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        synthetic(args.units, args.stimuli, args.timesteps, args.rate, Path(tmp))
        real_model(Path(tmp))


if __name__ == "__main__":
    main()
