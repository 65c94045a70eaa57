"""``tdsnn export brainscore CKPT --out DIR``: a checkpoint as a Brain-Score model plugin.

The folder has the layout of ``brainscore_vision/models/<plugin>/``: ``__init__.py`` (registers
the model in ``model_registry``), ``model.py`` (a ``ModelCommitment`` with fixed region layers,
a time bin per timestep and ``tissue_x``/``tissue_y`` on every neuroid), ``network.py`` (the
model without Brain-Score), ``test.py``, ``requirements.txt``, ``metadata.yaml``, ``plugin.json``
(regions, time mapping, identifier) and ``weights.safetensors`` (weights, sheets, metadata).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    from tdsnn_core.checkpoints import Checkpoint
    from tdsnn_core.sheets import CorticalSheet

REGIONS = ("V1", "V2", "V4", "IT")
WINDOW_MS = (0.0, 300.0)  # the T timesteps tile it; the neural benchmarks ask for 50-250 ms
VISUAL_DEGREES = 8.0  # Brain-Score's default field of view
TEMPLATE = Path(__file__).resolve().parent / "brainscore_plugin"
COPIED = ("model.py", "network.py", "test.py")
WEIGHTS = "weights.safetensors"
IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
BIBTEX = """@inproceedings{zhou2026tdsnn,
  title = {TDSNNs: Competitive Topographic Deep Spiking Neural Networks for Visual Cortex Modeling},
  author = {Zhou and others},
  booktitle = {Proceedings of the AAAI Conference on Artificial Intelligence (AAAI-26)},
  year = {2026}
}"""
INIT = '''"""Brain-Score plugin of the topographic spiking model {identifier}."""

from brainscore_vision import model_registry

from .model import get_model

model_registry["{identifier}"] = lambda: get_model("{identifier}")
'''
# Everything but tdsnn is what its checkpoint loader imports; Brain-Score pip-installs this file.
REQUIREMENTS = ("torch", "torchvision", "spikingjelly==2.0.0", "safetensors", "numpy", "pillow")


def region_layer_map(
    sheets: Mapping[str, CorticalSheet], chosen: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The layer committed to each region that has a sheet: the first V1 layer (the one whose
    maps the project analyses), the last layer of V2, V4 and IT (the area's output); ``chosen``
    (region -> layer) overrides."""
    mapping = {}
    for region in REGIONS:
        names = [name for name, sheet in sheets.items() if sheet.area == region]
        if names:
            mapping[region] = names[0] if region == "V1" else names[-1]
    for region, layer in (chosen or {}).items():
        if region not in REGIONS:
            raise ValueError(f"--region {region}={layer}: regions are {list(REGIONS)}")
        if layer not in sheets:
            raise ValueError(f"--region {region}={layer}: no such sheet; known: {list(sheets)}")
        mapping[region] = layer
    if not mapping:
        raise ValueError(f"no sheet of the checkpoint is in {list(REGIONS)}: nothing to commit")
    return mapping


def time_mapping(timesteps: int, window_ms: tuple[float, float] = WINDOW_MS) -> list[list[float]]:
    """[start_ms, end_ms] of each timestep: T equal, contiguous bins over ``window_ms``."""
    start, end = window_ms
    if not end > start:
        raise ValueError(f"the time window must end after it starts, got {window_ms}")
    step = (end - start) / timesteps
    return [[start + t * step, start + (t + 1) * step] for t in range(timesteps)]


def plugin_record(
    ckpt: Checkpoint,
    identifier: str,
    regions: Mapping[str, str],
    window_ms: tuple[float, float],
    visual_degrees: float,
) -> dict:
    """The ``plugin.json`` that ``model.py`` and ``network.py`` read."""
    bins = time_mapping(ckpt.model.timesteps, window_ms)
    return {
        "identifier": identifier,
        "weights": WEIGHTS,
        "source": ckpt.path.name,
        "architecture": ckpt.model.model_name,
        "timesteps": ckpt.model.timesteps,
        "region_layer_map": dict(regions),
        "time_mapping": {region: bins for region in regions},
        "visual_degrees": visual_degrees,
        "tissue_units": "mm",
        "bibtex": BIBTEX,
    }


def metadata(ckpt: Checkpoint, identifier: str) -> dict:
    """Brain-Score's ``metadata.yaml`` fields for the model."""
    parameters = sum(p.numel() for p in ckpt.model.parameters())
    trainable = sum(p.numel() for p in ckpt.model.parameters() if p.requires_grad)
    data = ((ckpt.meta.get("train_config") or {}).get("data") or {}).get("kind")
    return {
        "models": {
            identifier: {
                "architecture": "SNN, DCNN, topographic",
                "model_family": ckpt.model.model_name,
                "total_parameter_count": parameters,
                "trainable_parameter_count": trainable,
                "model_size_mb": round(parameters * 4 / 1e6, 2),
                "training_dataset": data,
                "task_specialization": None,
                "brainscore_link": None,
                "huggingface_link": None,
                "extra_notes": f"spiking (LIF), T = {ckpt.model.timesteps}; units on 2-D "
                "cortical sheets (tissue_x/tissue_y in mm); written by tdsnn export brainscore",
                "runnable": True,
            }
        }
    }


def export_brainscore(
    checkpoint: str | Path,
    out: str | Path,
    *,
    identifier: str | None = None,
    requirement: str = "tdsnn",
    regions: Mapping[str, str] | None = None,
    window_ms: tuple[float, float] = WINDOW_MS,
    visual_degrees: float = VISUAL_DEGREES,
) -> list[Path]:
    """Write the plugin folder ``out`` (new or empty); returns the files written.

    ``requirement`` is the pip requirement that installs this project where Brain-Score
    runs the plugin (e.g. ``tdsnn @ git+https://github.com/<you>/<repo>@<commit>``).
    """
    from tdsnn_core.checkpoints import load_checkpoint, save_checkpoint

    ckpt = load_checkpoint(checkpoint)
    identifier = identifier or f"tdsnn_{ckpt.path.stem}"
    if not IDENTIFIER.match(identifier):
        raise ValueError(f"identifier {identifier!r}: use letters, digits, '.', '_' or '-'")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"{out} exists and is not an empty folder: choose a new --out")
    out.mkdir(parents=True, exist_ok=True)
    record = plugin_record(
        ckpt, identifier, region_layer_map(ckpt.sheets, regions), window_ms, visual_degrees
    )
    save_checkpoint(out / WEIGHTS, ckpt.model, ckpt.sheets, ckpt.meta)  # no optimizer state
    for name in COPIED:
        shutil.copyfile(TEMPLATE / name, out / name)
    (out / "__init__.py").write_text(INIT.format(identifier=identifier))
    (out / "plugin.json").write_text(json.dumps(record, indent=2) + "\n")
    (out / "requirements.txt").write_text("\n".join((requirement, *REQUIREMENTS)) + "\n")
    (out / "metadata.yaml").write_text(yaml.safe_dump(metadata(ckpt, identifier), sort_keys=False))
    return sorted(out.iterdir())
