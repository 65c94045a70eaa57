"""The cortical sheet record of one topographic layer, and its (de)serialisation."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from tdsnn_core.storage import read_safetensors, write_safetensors_atomic

SHEET_TENSOR_PREFIX = "sheet."


@dataclass(frozen=True)
class CorticalSheet:
    """Positions of every unit of one topographic layer on its area's 2-D sheet.

    Units are ordered as the layer's output flattened from (C, H, W): unit
    ``c * H * W + h * W + w`` sits at ``positions[unit]`` (x, y in mm).
    """

    layer: str
    area: str
    dims: tuple[int, int, int]
    positions: np.ndarray
    size_mm: float
    neighborhood_width_mm: float

    def __post_init__(self) -> None:
        n_units = int(np.prod(self.dims))
        if self.positions.shape != (n_units, 2):
            raise ValueError(
                f"sheet {self.layer!r}: positions have shape {self.positions.shape}, "
                f"expected ({n_units}, 2) for dims {self.dims}"
            )
        if not np.isfinite(self.positions).all():
            raise ValueError(f"sheet {self.layer!r}: positions contain NaN or inf")

    @property
    def num_units(self) -> int:
        return int(self.positions.shape[0])

    def record(self) -> dict:
        """JSON-serialisable description without the positions."""
        return {
            "layer": self.layer,
            "area": self.area,
            "dims": list(self.dims),
            "size_mm": self.size_mm,
            "neighborhood_width_mm": self.neighborhood_width_mm,
        }

    def with_positions(self, positions: np.ndarray) -> CorticalSheet:
        return CorticalSheet(
            self.layer,
            self.area,
            self.dims,
            np.asarray(positions, dtype=np.float32),
            self.size_mm,
            self.neighborhood_width_mm,
        )


def sheets_to_tensors(sheets: dict[str, CorticalSheet]) -> tuple[dict[str, torch.Tensor], str]:
    """Tensors (positions) and a JSON string (records) to store the sheets in a safetensors file."""
    tensors = {
        SHEET_TENSOR_PREFIX + name: torch.from_numpy(np.ascontiguousarray(s.positions, np.float32))
        for name, s in sheets.items()
    }
    return tensors, json.dumps([s.record() for s in sheets.values()])


def sheets_from_tensors(
    tensors: dict[str, torch.Tensor], records_json: str
) -> dict[str, CorticalSheet]:
    """Inverse of :func:`sheets_to_tensors`."""
    sheets = {}
    for rec in json.loads(records_json):
        key = SHEET_TENSOR_PREFIX + rec["layer"]
        if key not in tensors:
            raise ValueError(f"sheet {rec['layer']!r} has a record but no positions tensor")
        sheets[rec["layer"]] = CorticalSheet(
            layer=rec["layer"],
            area=rec["area"],
            dims=tuple(rec["dims"]),
            positions=tensors[key].float().numpy(),
            size_mm=float(rec["size_mm"]),
            neighborhood_width_mm=float(rec["neighborhood_width_mm"]),
        )
    return sheets


def save_sheets(path: str | Path, sheets: dict[str, CorticalSheet]) -> None:
    """Write sheets alone to a safetensors file (atomically)."""
    tensors, records = sheets_to_tensors(sheets)
    write_safetensors_atomic(path, tensors, {"sheets": records, "format": "tdsnn-sheets"})


def load_sheets(path: str | Path) -> dict[str, CorticalSheet]:
    """Read the sheets from a sheets file or from a checkpoint (only the sheet tensors are read)."""
    tensors, metadata = read_safetensors(path, prefix=SHEET_TENSOR_PREFIX)
    if "sheets" not in metadata:
        raise ValueError(
            f"{path}: holds no cortical sheets (not a TDSNN checkpoint or sheets file)"
        )
    return sheets_from_tensors(tensors, metadata["sheets"])
