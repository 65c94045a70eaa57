"""A model's spikes as one NWB file: the model as a virtual recording (pynwb, no torch).

The file holds:

* ``units``: one row per unit of the exported layers (layer order, then the layer's own
  unit order ``c*H*W + h*W + w``) with ``layer``, ``area``, ``unit`` (that index),
  ``channel`` (c), ``sheet_x_mm``, ``sheet_y_mm`` (its position on the cortical sheet) and
  ``spike_times``; the table's ``resolution`` is dt.
* ``trials``: one per stimulus, back to back, T timesteps each: trial i runs from
  ``i*T*dt`` to ``(i+1)*T*dt`` s, with one column per stimulus property (grating
  parameters, probe category, image file).
* ``processing/ecephys/BinnedAlignedSpikes`` (ndx-binned-spikes): the same spikes as
  counts ``[units, trials, T]``, one bin of width dt per timestep, aligned to trial starts.

Time: a model timestep has no physical length; it is ``dt`` (default 1 ms). A spike in
timestep t of trial i is at ``(i*T + t) * dt`` s, the start of its bin, so
``round(time / dt)`` gives back the global timestep exactly. Every stimulus starts from
reset neuron state, so trials need no gap.

Why ndx-binned-spikes as well as ``spike_times``: the units table is what every NWB reader
understands, but a model's output is a dense per-timestep raster. The binned array is that
raster as it was computed (integers, nothing to re-bin from float times), and one read
gives the ``[units, stimuli, time bins]`` array that population analyses and model-to-brain
comparisons take. It costs one byte per unit and timestep before gzip (sparse spikes
compress well); its schema is cached in the file, so any pynwb reads it.

Subject: NWB validators want one (nwbinspector rates its absence critical). Here it is the
model: ``subject_id`` is the model id, ``species`` the modelled one (macaque: the sheets use
TDANN's macaque ventral-stream sizes), ``sex`` "O" (other), ``date_of_birth`` the time the
checkpoint was written, and the description says that it is a model, not an animal.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from hdmf.backends.hdf5 import H5DataIO
from hdmf.common import DynamicTableRegion, ElementIdentifiers, VectorData, VectorIndex
from hdmf.data_utils import DataChunkIterator
from ndx_binned_spikes import BinnedAlignedSpikes
from pynwb import NWBHDF5IO, NWBFile
from pynwb.epoch import TimeIntervals
from pynwb.file import Subject
from pynwb.misc import Units

from tdsnn_core.export.timebase import DEFAULT_DT_MS, check_dt

if TYPE_CHECKING:
    from tdsnn_core.checkpoints import Checkpoint
    from tdsnn_core.sheets import CorticalSheet

# NCBI Taxonomy "synthetic construct": a model, so that no search lists the file as animal data
MODELLED_SPECIES = "http://purl.obolibrary.org/obo/NCBITaxon_32630"
PROCESSING_MODULE, BINNED_NAME = "ecephys", "BinnedAlignedSpikes"
KEYWORDS = ["in silico", "spiking neural network", "topographic", "ventral stream", "model"]
GZIP = {"compression": "gzip", "compression_opts": 4}


class TrialColumn(NamedTuple):
    """One property of every trial's stimulus: a value per trial and what it means."""

    values: Sequence | np.ndarray
    description: str


@dataclass(frozen=True)
class ModelRecord:
    """The recorded model: its id, architecture, when its checkpoint was written, and the
    checkpoint's metadata (kept in the file's notes as JSON)."""

    model_id: str
    architecture: str
    created: datetime
    metadata: dict = field(default_factory=dict)

    @classmethod
    def of_checkpoint(cls, ckpt: Checkpoint, model_id: str | None = None) -> ModelRecord:
        """The record of a loaded checkpoint (id: the file stem; created: its mtime, or now
        when the file has gone since it was loaded)."""
        try:
            created = datetime.fromtimestamp(ckpt.path.stat().st_mtime, timezone.utc)
        except OSError:
            created = datetime.now(timezone.utc)
        name = ckpt.meta["model"]["name"]
        return cls(model_id or ckpt.path.stem, name, created, ckpt.meta)


def build_nwb(
    spikes: Mapping[str, np.ndarray],
    sheets: Mapping[str, CorticalSheet],
    trials: Mapping[str, TrialColumn],
    model: ModelRecord,
    *,
    dt_ms: float = DEFAULT_DT_MS,
    stimuli: str = "stimuli",
) -> NWBFile:
    """The NWB file of ``spikes`` ({layer: 0/1 [T, n_trials, n_units]}, as
    :func:`~tdsnn_core.recording.record_spikes` returns them) of ``model``: every unit of
    those layers at its place on ``sheets``, one trial per stimulus with the ``trials``
    columns; ``stimuli`` names the stimulus set in the session description."""
    timesteps, n_trials = _check(spikes, sheets, trials, dt_ms)
    dt_s = dt_ms / 1000.0
    counts = np.concatenate([np.asarray(s, np.uint8).transpose(2, 1, 0) for s in spikes.values()])
    if counts.size and counts.max() > 1:
        raise ValueError("spikes must be 0 or 1 per unit and timestep")
    bounds = (np.arange(n_trials + 1) * timesteps) * dt_s  # trial i: bounds[i] to bounds[i+1]
    nwbfile = NWBFile(
        session_description=f"responses of the model {model.model_id} ({model.architecture}) "
        f"to {n_trials} {stimuli}, {timesteps} timesteps of {dt_ms:g} ms each",
        identifier=str(uuid.uuid4()),
        session_start_time=datetime.now(timezone.utc),
        experiment_description="A virtual recording: every unit of the exported topographic "
        "layers of a TDSNN model (a topographic deep spiking network), placed on its cortical "
        f"sheet. A spike in timestep t of trial i is at (i*T + t) * {dt_s:g} s.",
        keywords=KEYWORDS,
        notes=json.dumps(
            {
                "dt_ms": dt_ms,
                "timesteps": timesteps,
                "layers": [sheets[name].record() for name in spikes],
                "checkpoint": model.metadata,
            }
        ),
        subject=Subject(
            subject_id=model.model_id,
            species=MODELLED_SPECIES,
            sex="O",
            date_of_birth=model.created,
            description=f"Not an animal: the TDSNN model {model.model_id} (architecture "
            f"{model.architecture}), whose cortical sheets follow the macaque ventral stream's "
            "sizes (TDANN). Its date of birth is the time its checkpoint was written.",
        ),
    )
    nwbfile.units = _units(spikes, sheets, counts, dt_s)
    nwbfile.trials = _trials(trials, bounds)
    binned = BinnedAlignedSpikes(
        name=BINNED_NAME,
        description="spikes per unit (rows of the units table, in order), trial and timestep",
        bin_width_in_ms=float(dt_ms),
        event_to_bin_offset_in_ms=0.0,
        data=counts,
        event_timestamps=bounds[:-1],
        units_region=DynamicTableRegion(
            name="units_region",
            data=H5DataIO(np.arange(len(counts)), **GZIP),
            description="every unit, in table order",
            table=nwbfile.units,
        ),
    )
    binned.set_data_io("data", H5DataIO, data_io_kwargs={**GZIP, "chunks": True})
    module = nwbfile.create_processing_module(PROCESSING_MODULE, "the model's spikes, binned")
    module.add(binned)
    return nwbfile


def write_nwb(nwbfile: NWBFile, path: str | Path) -> Path:
    """Write ``nwbfile`` to ``path`` atomically (a temporary file beside it, then a rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp.nwb", dir=path.parent)
    os.close(fd)
    try:
        with NWBHDF5IO(tmp, "w") as io:
            io.write(nwbfile)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def nwb_bytes(nwbfile: NWBFile) -> bytes:
    """The file's bytes (written to a temporary file: HDF5 writes to a file)."""
    with tempfile.TemporaryDirectory(prefix="tdsnn-nwb-") as folder:
        return write_nwb(nwbfile, Path(folder) / "spikes.nwb").read_bytes()


def _check(
    spikes: Mapping[str, np.ndarray],
    sheets: Mapping[str, CorticalSheet],
    trials: Mapping[str, TrialColumn],
    dt_ms: float,
) -> tuple[int, int]:
    """(T, n_trials) of consistent inputs; otherwise a ValueError naming the problem."""
    check_dt(dt_ms)
    if not spikes:
        raise ValueError("no layers to export")
    shapes = {name: np.shape(s) for name, s in spikes.items()}
    if any(len(shape) != 3 for shape in shapes.values()):
        raise ValueError(f"spikes must be [T, n_trials, n_units] per layer, got {shapes}")
    if len({shape[:2] for shape in shapes.values()}) != 1:
        raise ValueError(f"layers differ in T or number of trials: {shapes}")
    for name, shape in shapes.items():
        if name not in sheets:
            raise ValueError(f"layer {name!r} has no cortical sheet; known: {list(sheets)}")
        if shape[2] != sheets[name].num_units:
            raise ValueError(
                f"layer {name!r}: {shape[2]} units of spikes, its sheet has "
                f"{sheets[name].num_units}"
            )
    timesteps, n_trials = next(iter(shapes.values()))[:2]
    for name, column in trials.items():
        if len(column.values) != n_trials:
            raise ValueError(
                f"trial column {name!r} has {len(column.values)} values for {n_trials} trials"
            )
    return timesteps, n_trials


def _units(
    spikes: Mapping[str, np.ndarray],
    sheets: Mapping[str, CorticalSheet],
    counts: np.ndarray,
    dt_s: float,
) -> Units:
    """The units table, built column by column (no per-unit Python calls)."""
    layers = [sheets[name] for name in spikes]
    sizes = [sheet.num_units for sheet in layers]
    unit = np.concatenate([np.arange(n) for n in sizes])
    channel = np.concatenate([np.arange(s.num_units) // (s.dims[1] * s.dims[2]) for s in layers])
    positions = np.concatenate([sheet.positions for sheet in layers]).astype(np.float32)
    rows, steps = np.nonzero(counts.reshape(len(counts), -1))  # step = trial * T + t
    spike_times = VectorData(
        name="spike_times",
        description="spike times (s): (trial * T + timestep) * dt",
        data=H5DataIO(steps * dt_s, **GZIP),
    )
    columns = [
        spike_times,
        VectorIndex(
            name="spike_times_index",
            data=H5DataIO(
                np.cumsum(np.bincount(rows, minlength=len(counts))).astype(np.uint64), **GZIP
            ),
            target=spike_times,
        ),
        _column(
            "layer",
            np.repeat(np.array(list(spikes), dtype=object), sizes),
            "the model's topographic layer",
        ),
        _column(
            "area",
            np.repeat(np.array([s.area for s in layers], dtype=object), sizes),
            "the cortical area of the layer's sheet (early, V1, V2, V4, IT)",
        ),
        _column("unit", unit, "index of the unit in its layer's output, c*H*W + h*W + w"),
        _column("channel", channel, "the unit's feature channel c"),
        _column("sheet_x_mm", positions[:, 0], "x position on the layer's cortical sheet (mm)"),
        _column("sheet_y_mm", positions[:, 1], "y position on the layer's cortical sheet (mm)"),
    ]
    return Units(
        name="units",
        description="every unit of the exported layers of the model",
        id=ElementIdentifiers(name="id", data=H5DataIO(np.arange(len(counts)), **GZIP)),
        columns=columns,
        resolution=dt_s,
    )


def _trials(trials: Mapping[str, TrialColumn], bounds: np.ndarray) -> TimeIntervals:
    """One trial per stimulus, from ``bounds[i]`` to ``bounds[i + 1]``, with its columns."""
    columns = [
        _column("start_time", bounds[:-1], "trial start (s): trial * T * dt"),
        _column("stop_time", bounds[1:], "trial end (s): (trial + 1) * T * dt"),
    ]
    columns += [_column(name, np.asarray(c.values), c.description) for name, c in trials.items()]
    return TimeIntervals(
        name="trials",
        description="one trial per stimulus; the model starts each from reset neuron state",
        id=ElementIdentifiers(name="id", data=np.arange(len(bounds) - 1)),
        columns=columns,
    )


def _column(name: str, values: np.ndarray, description: str) -> VectorData:
    """A column: numbers gzipped; text through a chunk iterator, which hdmf writes without
    first scanning every string for object references (half the write of 100,000 units)."""
    if values.dtype.kind in "UO":
        data = DataChunkIterator(values.astype(object), buffer_size=max(len(values), 1))
    else:
        data = H5DataIO(values, **GZIP)
    return VectorData(name=name, description=description, data=data)
