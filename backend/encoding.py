"""Spike encodings of the service: the bit-packed binary form (numpy only) and sheet rasters.

Binary form (``application/x-tdsnn-spikes``), version 1, all integers little-endian::

    bytes 0-3     magic b"TDSP"
    byte  4       format version (1)
    bytes 5-7     zero
    bytes 8-11    H, the header length (uint32)
    bytes 12-12+H header: UTF-8 JSON with "model", "timesteps", "prediction" and "layers",
                  a list of {"name", "dims": [C, H, W]}
    then          the payload: one block per layer, in the order of "layers", back to back:
                  its spikes [T, N] (N = C*H*W, unit c*H*W + h*W + w, time slowest) flattened
                  and packed 8 per byte, least significant bit first: ceil(T*N/8) bytes.

:func:`unpack_spikes` decodes it (the client uses it).
"""

from __future__ import annotations

import json
import struct

import numpy as np

MAGIC = b"TDSP"
VERSION = 1
MEDIA_TYPE = "application/x-tdsnn-spikes"
NWB_MEDIA_TYPE = "application/x-nwb"  # an NWB 2 (HDF5) file: tdsnn_core.export.nwb
_PREAMBLE = struct.Struct("<4sB3xI")


def pack_spikes(header: dict, spikes: dict[str, np.ndarray]) -> bytes:
    """Binary form of ``spikes`` ({layer: bool [T, C, H, W]}) with ``header`` fields added."""
    layers = [{"name": name, "dims": list(array.shape[1:])} for name, array in spikes.items()]
    chunks = [
        np.packbits(np.asarray(array, dtype=bool).ravel(), bitorder="little").tobytes()
        for array in spikes.values()
    ]
    text = json.dumps({**header, "layers": layers}, separators=(",", ":")).encode()
    return b"".join([_PREAMBLE.pack(MAGIC, VERSION, len(text)), text, *chunks])


def unpack_spikes(data: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    """Inverse of :func:`pack_spikes`: (header, {layer: bool [T, C, H, W]})."""
    if len(data) < _PREAMBLE.size:
        raise ValueError("spike payload is shorter than its preamble")
    magic, version, header_len = _PREAMBLE.unpack_from(data)
    if magic != MAGIC or version != VERSION:
        raise ValueError(f"not a TDSNN spike payload of version {VERSION} (magic {magic!r})")
    start = _PREAMBLE.size + header_len
    header = json.loads(data[_PREAMBLE.size : start])
    payload = memoryview(data)[start:]
    spikes, offset = {}, 0
    for layer in header["layers"]:
        shape = (header["timesteps"], *layer["dims"])
        nbytes = -(-int(np.prod(shape)) // 8)
        chunk, offset = payload[offset : offset + nbytes], offset + nbytes
        if len(chunk) != nbytes:
            raise ValueError(f"spike payload is truncated in layer {layer['name']!r}")
        bits = np.unpackbits(
            np.frombuffer(chunk, np.uint8), count=int(np.prod(shape)), bitorder="little"
        )
        spikes[layer["name"]] = bits.astype(bool).reshape(shape)
    return header, spikes


def packed_size(timesteps: int, dims: list[tuple[int, int, int]]) -> int:
    """The bit-packed minimum: ceil(T * all units / 8) bytes, no header."""
    return -(-timesteps * sum(int(np.prod(d)) for d in dims) // 8)


def raster(
    spikes: np.ndarray, positions: np.ndarray, size_mm: float, cells: int
) -> tuple[np.ndarray, np.ndarray]:
    """Bin spikes [T, N] onto a ``cells`` x ``cells`` grid over a square sheet of ``size_mm``
    with the core's binning (:class:`tdsnn_core.analysis.grid.SheetBins`, as the dashboard).

    Returns (spike counts [T, cells, cells], units per cell [cells, cells]); rows follow y
    (row 0 at y = 0), columns x, so ``counts / units`` is the fraction of a cell's units firing.
    """
    from tdsnn_core.analysis.grid import SheetBins, SheetGrid  # the client imports no torch

    bins = SheetBins.of(SheetGrid.square(size_mm, cells), positions)
    return bins.counts(spikes), bins.units
