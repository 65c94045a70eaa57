"""Safe, atomic safetensors files: the only on-disk format the toolkit reads or writes.

Nothing here unpickles: safetensors holds raw tensors and a string-to-string header.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as safetensors_bytes


class CheckpointError(ValueError):
    """A checkpoint or sheets file that is missing, corrupt, truncated or not ours."""


def write_safetensors_atomic(
    path: str | Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]
) -> None:
    """Write tensors + metadata to ``path`` via a temporary file, fsync and rename.

    A crash at any moment leaves either the old file or the new one, never a partial file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = safetensors_bytes(
        {k: v.detach().contiguous().cpu() for k, v in tensors.items()}, metadata=metadata
    )
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_safetensors(
    path: str | Path, prefix: str = "", device: str = "cpu"
) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Read the tensors whose names start with ``prefix`` and the header metadata.

    Raises :class:`CheckpointError` naming the problem for a missing, truncated or foreign file.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    try:
        with safe_open(str(path), framework="pt", device=device) as f:
            metadata = dict(f.metadata() or {})
            tensors = {k: f.get_tensor(k) for k in f.keys() if k.startswith(prefix)}  # noqa: SIM118
    except (SafetensorError, OSError, RuntimeError, ValueError) as exc:
        raise CheckpointError(
            f"{path}: not a readable safetensors file (corrupt, truncated or another format): {exc}"
        ) from None
    return tensors, metadata


def json_field(metadata: dict[str, str], key: str, path: str | Path) -> object:
    """Decode one JSON-valued header field, with an error naming the file and field."""
    if key not in metadata:
        raise CheckpointError(f"{path}: header has no {key!r} field (not a TDSNN file?)")
    try:
        return json.loads(metadata[key])
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: header field {key!r} is not valid JSON: {exc}") from None
