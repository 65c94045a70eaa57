"""Export a model's spikes to field formats: NWB (:mod:`.nwb`), the ``tdsnn export`` command."""

from tdsnn_core.export.nwb import (
    DEFAULT_DT_MS,
    ModelRecord,
    TrialColumn,
    build_nwb,
    nwb_bytes,
    write_nwb,
)
from tdsnn_core.export.stimuli import StimulusSet, grating_columns, load_stimuli

__all__ = [
    "DEFAULT_DT_MS",
    "ModelRecord",
    "StimulusSet",
    "TrialColumn",
    "build_nwb",
    "grating_columns",
    "load_stimuli",
    "nwb_bytes",
    "write_nwb",
]
