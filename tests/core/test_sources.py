"""sources.json: the source image of each image of a folder, read back as group ids for the
probes and for image-folder datasets (subsets included)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tdsnn_core.analysis.probes import load_probe_folder
from tdsnn_core.data import build_dataset
from tdsnn_core.data.sources import dataset_groups, source_ids, write_sources


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """val/<a, b>/<i>.png, 4 images each; a/0 and a/1 share a source, b/3 has no entry."""
    for name in ("a", "b"):
        (tmp_path / "val" / name).mkdir(parents=True)
        for i in range(4):
            pixels = np.full((8, 8), 40 * i, np.uint8)
            Image.fromarray(pixels).save(tmp_path / "val" / name / f"{i}.png")
    made_from = {"a/0.png": "x", "a/1.png": "x", "a/2.png": "y", "a/3.png": "z"}
    write_sources(tmp_path / "val", {**made_from, "b/0.png": "y", "b/1.png": "w", "b/2.png": "v"})
    return tmp_path


def same_partition(ids: np.ndarray, expected: list) -> bool:
    """Whether two labellings group the items alike (ids themselves are arbitrary)."""
    pairs = {(int(i), e) for i, e in zip(ids, expected, strict=True)}
    return len(pairs) == len(set(ids.tolist())) == len(set(expected))


def test_images_of_one_source_share_an_id_and_unlisted_images_stand_alone(folder: Path):
    paths = ["a/0.png", "a/1.png", "a/2.png", "b/0.png", "b/3.png", "b/9.png"]
    ids = source_ids(folder / "val", paths)
    assert same_partition(ids, ["x", "x", "y", "y", "b/3", "b/9"])
    assert same_partition(source_ids(folder / "nowhere", paths), paths)


def test_probe_folder_carries_the_sources(folder: Path):
    probes = load_probe_folder(folder / "val", 8, 1)
    assert probes.files[:2] == ("a/0.png", "a/1.png")
    assert probes.sources[0] == probes.sources[1] != probes.sources[2]
    fit, _ = probes.halves()
    assert fit[0] == fit[1]  # a source and its variants stay in one half


def test_image_folder_dataset_groups_follow_subsets(folder: Path):
    dataset = build_dataset(
        "imagefolder", str(folder), "test", input_size=8, channels=1, num_classes=2
    )
    groups = dataset_groups(dataset)
    assert same_partition(groups, ["x", "x", "y", "z", "y", "w", "v", "b/3"])
    spread = build_dataset(
        "imagefolder", str(folder), "test", input_size=8, channels=1, num_classes=2, subset=4
    )  # images 0, 2, 4, 6: a/0, a/2, b/0, b/2 -> sources x, y, y, v
    assert same_partition(dataset_groups(spread), ["x", "y", "y", "v"])
    with pytest.raises(ValueError, match="not valid JSON"):
        (folder / "val" / "sources.json").write_text("{")
        dataset_groups(dataset)
