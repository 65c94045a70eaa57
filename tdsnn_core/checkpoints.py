"""Model checkpoints: safetensors weights, cortical sheets and JSON metadata in one file.

Layout: tensors ``model.<param>``, ``sheet.<layer>`` (positions) and, in training checkpoints,
``optim.<i>.<key>``; the header's ``tdsnn`` field is the JSON metadata (format, model name and
config, sheet records, epoch, metrics, library versions and the CPU's kernel set). Loading never
unpickles.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path

import spikingjelly
import torch

import tdsnn_core
from tdsnn_core.models import TopographicSNN, create_model
from tdsnn_core.sheets.sheet import CorticalSheet, sheets_from_tensors, sheets_to_tensors
from tdsnn_core.storage import (
    CheckpointError,
    json_field,
    read_safetensors,
    write_safetensors_atomic,
)

FORMAT = "tdsnn-checkpoint"
FORMAT_VERSION = 1
MODEL_PREFIX, OPTIM_PREFIX, TRAINING_PREFIX = "model.", "optim.", "training."


@dataclass
class Checkpoint:
    """A loaded checkpoint: the rebuilt model (eval mode), its sheets and its metadata."""

    model: TopographicSNN
    sheets: dict[str, CorticalSheet]
    meta: dict
    path: Path


def library_versions() -> dict[str, str]:
    """The software a checkpoint was made with, and the CPU kernel set (``cpu_isa``): on the
    CPU, training with the same config and seed is bit for bit repeatable on one kernel set,
    but convolutions (oneDNN) round differently on AVX-512 and AVX2, so the same seed trains
    another model there. ``ONEDNN_MAX_CPU_ISA``, when set, caps oneDNN's set and is recorded."""
    isa = torch.backends.cpu.get_cpu_capability()
    if cap := os.environ.get("ONEDNN_MAX_CPU_ISA"):
        isa = f"{isa}, ONEDNN_MAX_CPU_ISA={cap}"
    return {
        "tdsnn": tdsnn_core.__version__,
        "torch": torch.__version__,
        "spikingjelly": getattr(spikingjelly, "__version__", "2.0.0"),
        "python": platform.python_version(),
        "cpu_isa": isa,
    }


def save_checkpoint(
    path: str | Path,
    model: TopographicSNN,
    sheets: dict[str, CorticalSheet],
    meta: dict,
    optimizer: torch.optim.Optimizer | None = None,
    training_modules: dict[str, torch.nn.Module] | None = None,
) -> None:
    """Atomically write a checkpoint; ``optimizer`` and ``training_modules`` (parts of the
    objective that are not the model, such as SimCLR's projection head) add the state that
    ``--resume`` needs."""
    tensors = {MODEL_PREFIX + k: v for k, v in model.state_dict().items()}
    for name, module in (training_modules or {}).items():
        tensors.update({f"{TRAINING_PREFIX}{name}.{k}": v for k, v in module.state_dict().items()})
    sheet_tensors, sheet_records = sheets_to_tensors(sheets)
    tensors.update(sheet_tensors)
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": {"name": model.model_name, "config": model.config},
        "versions": library_versions(),
        **meta,
    }
    metadata = {"tdsnn": json.dumps(header), "sheets": sheet_records}
    if optimizer is not None:
        state = optimizer.state_dict()
        for index, slots in state["state"].items():
            for key, value in slots.items():
                tensors[f"{OPTIM_PREFIX}{index}.{key}"] = torch.as_tensor(value)
        metadata["optimizer"] = json.dumps(state["param_groups"])
    write_safetensors_atomic(path, tensors, metadata)


def read_metadata(path: str | Path) -> dict:
    """The checkpoint's JSON metadata, validated as ours (reads no weights)."""
    _, metadata = read_safetensors(path, prefix="\0")
    return _validated(metadata, path)


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> Checkpoint:
    """Rebuild the model from a checkpoint, load its weights and sheets; eval mode."""
    tensors, metadata = read_safetensors(path)
    meta = _validated(metadata, path)
    try:
        model = create_model(meta["model"]["name"], **meta["model"]["config"])
    except (ValueError, TypeError, KeyError) as exc:
        raise CheckpointError(f"{path}: its model cannot be built: {exc}") from None
    weights = {k[len(MODEL_PREFIX) :]: v for k, v in tensors.items() if k.startswith(MODEL_PREFIX)}
    missing, unexpected = _key_mismatch(model.state_dict(), weights)
    if missing or unexpected:
        raise CheckpointError(
            f"{path}: weights do not match model {meta['model']['name']!r} "
            f"(missing {missing[:5]}, unexpected {unexpected[:5]})"
        )
    for key, value in weights.items():
        if value.shape != model.state_dict()[key].shape:
            raise CheckpointError(
                f"{path}: weight {key} has shape {tuple(value.shape)}, "
                f"the model expects {tuple(model.state_dict()[key].shape)}"
            )
    model.load_state_dict(weights)
    sheets = sheets_from_tensors(tensors, metadata["sheets"])
    return Checkpoint(model.to(device).eval(), sheets, meta, Path(path))


def load_optimizer_state(path: str | Path, optimizer: torch.optim.Optimizer) -> None:
    """Restore the optimizer state written by :func:`save_checkpoint`."""
    tensors, metadata = read_safetensors(path, prefix=OPTIM_PREFIX)
    groups = json_field(metadata, "optimizer", path)
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        index, slot = key[len(OPTIM_PREFIX) :].split(".", 1)
        state.setdefault(int(index), {})[slot] = value
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def load_training_module(path: str | Path, name: str, module: torch.nn.Module) -> None:
    """Restore a module written by :func:`save_checkpoint`'s ``training_modules``."""
    prefix = f"{TRAINING_PREFIX}{name}."
    tensors, _ = read_safetensors(path, prefix=prefix)
    state = {k[len(prefix) :]: v for k, v in tensors.items()}
    missing, unexpected = _key_mismatch(module.state_dict(), state)
    if missing or unexpected:
        raise CheckpointError(
            f"{path}: holds no {name!r} state matching this training run (missing "
            f"{missing[:5]}, unexpected {unexpected[:5]}); was it trained with another objective?"
        )
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: its {name!r} state does not fit: {exc}") from None


def _validated(metadata: dict[str, str], path: str | Path) -> dict:
    meta = json_field(metadata, "tdsnn", path)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a TDSNN checkpoint (header format is not {FORMAT!r})")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format {meta['format_version']} is newer than this toolkit "
            f"reads ({FORMAT_VERSION}); upgrade tdsnn"
        )
    if "sheets" not in metadata:
        raise CheckpointError(f"{path}: checkpoint has no cortical sheets")
    return meta


def _key_mismatch(expected: dict, given: dict) -> tuple[list[str], list[str]]:
    return sorted(set(expected) - set(given)), sorted(set(given) - set(expected))
