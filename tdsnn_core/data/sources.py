"""Which source image each image of a folder was made from (``sources.json`` beside the class
subfolders), so that intervals resample independent images, not near-copies.

A split of the category dataset holds 400 faces made from 20 LFW crops and 400 place crops cut
from 5 photographs: treating them as 400 independent images makes a bootstrap interval too
narrow, and a readout fitted on half of them is scored on variants of what it was fitted on.
``sources.json`` maps each image's path relative to the folder ("faces/faces_00000.png") to
the id of its source ("lfw:83"); an image the file does not name (or a folder without the
file, e.g. a user's own fLoc stimuli) is its own source.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

SOURCES_FILE = "sources.json"


def write_sources(folder: str | Path, sources: Mapping[str, str]) -> Path:
    """Write ``folder/sources.json``: relative image path -> source id."""
    path = Path(folder) / SOURCES_FILE
    path.write_text(json.dumps(dict(sorted(sources.items())), indent=0) + "\n")
    return path


def read_sources(folder: str | Path) -> dict[str, str]:
    """``folder``'s relative image path -> source id ({} without a sources file)."""
    path = Path(folder) / SOURCES_FILE
    if not path.is_file():
        return {}
    try:
        mapping = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise ValueError(f"{path} must map image paths to source ids (strings)")
    return mapping


def source_ids(folder: str | Path, relative_paths: Sequence[str]) -> np.ndarray:
    """One integer id per image (``relative_paths`` under ``folder``): images of one source
    share it; an image without an entry in ``sources.json`` is its own source."""
    mapping = read_sources(folder)
    keys = [mapping.get(p, f"\0{p}") for p in relative_paths]  # \0: never a written id
    return np.unique(keys, return_inverse=True)[1].reshape(-1)


def source_count(n_images: int, sources: np.ndarray | None) -> int:
    """How many independent source images ``n_images`` images come from (``sources``: the
    source of each; None: every image its own)."""
    return n_images if sources is None else len(np.unique(sources))


def dataset_groups(dataset) -> np.ndarray | None:
    """Source ids of a labelled image-folder dataset's items (a torchvision ImageFolder, or a
    ``Subset`` of one); None for other datasets (every image independent)."""
    indices = None
    while hasattr(dataset, "indices") and hasattr(dataset, "dataset"):  # torch Subset
        chosen = np.asarray(dataset.indices)
        indices = chosen if indices is None else chosen[indices]
        dataset = dataset.dataset
    if not hasattr(dataset, "samples") or not hasattr(dataset, "root"):
        return None
    root = Path(dataset.root)
    paths = [Path(path).relative_to(root).as_posix() for path, _ in dataset.samples]
    groups = source_ids(root, paths)
    return groups if indices is None else groups[indices]
