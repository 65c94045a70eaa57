"""The model store: every safe checkpoint of the models folder, loaded once at start-up.

Requests name models by id (the file stem); no request path reaches the file system. A
model's inference runs on its :class:`~backend.worker.InferenceWorker`; maps and lesions
run on its :class:`~backend.lanes.AnalysisLane`, with a separate copy of the model (lesions
change module state). Both take work from bounded queues.
"""

from __future__ import annotations

import copy
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch

from backend.errors import ApiError
from backend.lanes import AnalysisLane
from backend.worker import InferenceWorker
from tdsnn_core.checkpoints import Checkpoint, load_checkpoint
from tdsnn_core.data.classes import class_names
from tdsnn_core.models import TopographicSNN
from tdsnn_core.sheets import CorticalSheet

log = logging.getLogger("tdsnn.service")

MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
PICKLE_SUFFIXES = {".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".bin", ".tar", ".joblib"}


@dataclass
class ModelEntry:
    """A served model: its checkpoint, class names, inference worker and analysis state."""

    id: str
    checkpoint: Checkpoint
    classes: tuple[str, ...]
    worker: InferenceWorker
    analysis_model: TopographicSNN
    analysis: AnalysisLane
    cache: dict = field(default_factory=dict)  # touched only on the analysis lane

    @property
    def model(self) -> TopographicSNN:
        return self.checkpoint.model

    @property
    def sheets(self) -> dict[str, CorticalSheet]:
        return self.checkpoint.sheets

    def sheet(self, layer: str, field: str) -> CorticalSheet:
        """The sheet of ``layer`` (given as ``field``); unknown: a 404 naming the known ones."""
        if layer not in self.sheets:
            raise ApiError(
                404,
                f"unknown layer {layer!r} of model {self.id!r}; known: {list(self.sheets)}",
                field=field,
            )
        return self.sheets[layer]


@dataclass
class Skipped:
    file: str
    reason: str


class ModelStore:
    """Loaded models by id and the files that were skipped."""

    def __init__(self, entries: dict[str, ModelEntry], skipped: list[Skipped], device: str):
        self.entries, self.skipped, self.device = entries, skipped, device

    @classmethod
    def load(
        cls, directory: Path, device: torch.device, max_batch: int, window_s: float, capacity: int
    ) -> ModelStore:
        """Load every ``*.safetensors`` checkpoint of ``directory`` (not recursive); other,
        pickled, corrupt or foreign files are skipped with a logged reason. Each model's
        worker and analysis lane queue at most ``capacity`` jobs."""
        entries, skipped = {}, []
        files = sorted(directory.iterdir()) if directory.is_dir() else []
        if not directory.is_dir():
            log.warning("models folder %s does not exist: serving no models", directory)
        for path in files:
            if path.name.startswith(".") or path.is_dir():
                continue
            reason = _unloadable(path)
            if reason is None:
                try:
                    ckpt = load_checkpoint(path, device)
                except (ValueError, KeyError, TypeError, RuntimeError) as exc:
                    reason = str(exc).replace(str(path), path.name)
            if reason is not None:
                log.warning("skipped %s: %s", path.name, reason)
                skipped.append(Skipped(path.name, reason))
                continue
            analysis_model = copy.deepcopy(ckpt.model).eval()  # before the worker's hooks
            worker = InferenceWorker(ckpt.model, path.stem, max_batch, window_s, capacity)
            lane = AnalysisLane(analysis_model, path.stem, capacity)
            entries[path.stem] = ModelEntry(
                path.stem,
                ckpt,
                class_names(ckpt.meta, ckpt.model.config["num_classes"]),
                worker,
                analysis_model,
                lane,
            )
            log.info("loaded model %s (%s) on %s", path.stem, ckpt.model.model_name, device)
        if not entries:
            log.warning("no models loaded from %s (put .safetensors checkpoints there)", directory)
        return cls(entries, skipped, str(device))

    def get(self, model_id: str) -> ModelEntry:
        if model_id not in self.entries:
            raise ApiError(
                404,
                f"unknown model {model_id!r}; known: {list(self.entries)}",
                field="path.model_id",
            )
        return self.entries[model_id]

    def close(self) -> None:
        for entry in self.entries.values():
            entry.worker.close()
            entry.analysis.close()


def _unloadable(path: Path) -> str | None:
    if path.suffix.lower() in PICKLE_SUFFIXES:
        return "pickle-based format: never loaded (convert it to a .safetensors checkpoint)"
    if path.suffix.lower() != ".safetensors":
        return "not a .safetensors checkpoint"
    if not MODEL_ID.match(path.stem):
        return "file name is not a valid model id (letters, digits, '.', '_', '-')"
    return None
