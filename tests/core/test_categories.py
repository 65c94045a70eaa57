"""The offline category dataset (`tdsnn data build`): layout, provenance, no leakage between
splits, determinism, orientation coverage of the place crops, and missing packages named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.stats import chisquare

from tdsnn_core.cli import main
from tdsnn_core.data import DataNotFoundError, build_dataset
from tdsnn_core.data.categories import (
    CATEGORIES,
    VAL_PHOTOS,
    build_category_dataset,
    category_images,
    load_sources,
    missing_sources,
)
from tdsnn_core.data.sources import read_sources

PER_CLASS = {"train": 3, "val": 4}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if missing_sources():
        pytest.fail("sources missing (make data installs them): " + "; ".join(missing_sources()))
    out = tmp_path_factory.mktemp("categories")
    build_category_dataset(out, per_class=PER_CLASS, progress=False)
    return out


def test_build_writes_an_image_folder_with_provenance(built: Path) -> None:
    for split, n in PER_CLASS.items():
        for category in CATEGORIES:
            files = sorted((built / split / category).glob("*.png"))
            assert len(files) == n
            image = Image.open(files[0])
            assert image.mode == "L" and image.size == (72, 72)
    record = json.loads((built / "provenance.json").read_text())
    assert record["counts"] == {s: dict.fromkeys(CATEGORIES, n) for s, n in PER_CLASS.items()}
    assert set(record["licences"]) == set(CATEGORIES)
    train = build_dataset(
        "imagefolder",
        str(built),
        "train",
        input_size=64,
        channels=1,
        num_classes=5,
        augment=True,
        crop_scale=(0.5, 1.0),
    )
    image, label = train[0]
    assert label == 0  # bodies, the first class in sorted order
    assert image.shape == (1, 64, 64) and train.classes == sorted(CATEGORIES)


def test_every_image_comes_from_its_own_seed(built: Path) -> None:
    """A rebuild gives the same pixels, and a smaller build is a prefix of a larger one."""
    sources = load_sources("val")
    for category in CATEGORIES:
        again = [image for image, _ in category_images(category, sources, "val", 2, 72, seed=0)]
        for i, image in enumerate(again):
            written = np.asarray(Image.open(built / "val" / category / f"{category}_{i:05d}.png"))
            np.testing.assert_array_equal(image, written)
        other, _ = next(category_images(category, sources, "val", 1, 72, seed=1))
        assert not np.array_equal(other, again[0])


def test_every_image_names_its_source(built: Path) -> None:
    """Each split's sources.json names the source of every image, as the generator made it:
    the 20 val faces are LFW crops 80-99, the val places crops of the 5 held-out photos."""
    for split, n in PER_CLASS.items():
        made_from = read_sources(built / split)
        assert len(made_from) == n * len(CATEGORIES)
        sources = load_sources(split)
        for category in CATEGORIES:
            made = [src for _, src in category_images(category, sources, split, n, 72, seed=0)]
            assert [made_from[f"{category}/{category}_{i:05d}.png"] for i in range(n)] == made
    val = read_sources(built / "val")
    assert all(v.startswith(("lfw-face:", "photo:", "font:", "sklearn-digit:",
               "fashion-mnist-garment:", "object:")) for v in val.values())  # fmt: skip
    photos = {v.split(":")[1] for k, v in val.items() if k.startswith("places/")}
    assert photos <= set(VAL_PHOTOS)
    faces = {int(v.split(":")[1]) for k, v in val.items() if k.startswith("faces/")}
    assert faces <= set(range(20))


def test_train_and_val_share_no_source() -> None:
    train, val = load_sources("train"), load_sources("val")
    assert not set(train.fonts) & set(val.fonts) and val.fonts
    assert not set(train.photos) & set(val.photos) and val.photos
    for a, b in ((train.faces, val.faces), (train.digits, val.digits)):
        seen = {x.tobytes() for x in a}
        assert not any(y.tobytes() in seen for y in b)
    assert len(train.faces) == 80 and len(val.faces) == 20


def dominant_orientations(images: np.ndarray) -> np.ndarray:
    """Each image's dominant edge orientation in degrees [0, 180) (structure tensor)."""
    gy, gx = np.gradient(images.astype(float), axis=(1, 2))
    jxx, jyy, jxy = ((g * h).mean(axis=(1, 2)) for g, h in ((gx, gx), (gy, gy), (gx, gy)))
    return np.degrees(0.5 * np.arctan2(2 * jxy, jxx - jyy)) % 180


def orientation_counts(angles: np.ndarray) -> np.ndarray:
    return np.histogram(angles, bins=8, range=(0, 180))[0]


def test_place_crops_cover_every_orientation() -> None:
    """Each crop's dominant orientation over 480 crops: every 22.5-degree bin holds >= 5 % and
    the counts are consistent with uniform (chi-square p > 0.01; the same crops unrotated give
    p = 0.0002: the photos' near-horizontal edges dominate)."""
    sources = load_sources("train")
    crops = np.stack([c for c, _ in category_images("places", sources, "train", 480, 72, seed=0)])
    counts = orientation_counts(dominant_orientations(crops))
    assert counts.min() >= 0.05 * len(crops), counts
    assert chisquare(counts).pvalue > 0.01, counts


def test_rotation_augmentation_makes_every_orientation_equally_likely(tmp_path: Path) -> None:
    """`data.rotate`: one augmented draw of each of 480 training images (96 per category) has a
    uniform dominant orientation (p = 0.43 on the full dataset); the same draws without rotation
    do not (p = 2e-17: upright faces, garments and letters are mostly horizontal and vertical)."""
    build_category_dataset(tmp_path, per_class={"train": 96, "val": 1}, progress=False)

    def draws(rotate: bool) -> np.ndarray:
        torch.manual_seed(0)
        train = build_dataset(
            "imagefolder", str(tmp_path), "train", input_size=64, channels=1, num_classes=5,
            augment=True, crop_scale=(0.5, 1.0), rotate=rotate,
        )  # fmt: skip
        return np.stack([image[0].numpy() for image, _ in train])

    rotated = orientation_counts(dominant_orientations(draws(rotate=True)))
    upright = orientation_counts(dominant_orientations(draws(rotate=False)))
    assert rotated.min() >= 0.05 * rotated.sum() and chisquare(rotated).pvalue > 0.01, rotated
    assert chisquare(upright).pvalue < 1e-4, upright


def test_missing_packages_are_named(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (missing,) = missing_sources(empty)
    assert "apt-get install dataset-fashion-mnist" in missing
    with pytest.raises(DataNotFoundError, match="dataset-fashion-mnist"):
        build_category_dataset(tmp_path / "out", fashion_root=empty, progress=False)
    code = main(["data", "build", "--out", str(tmp_path / "out"), "--fashion-root", str(empty)])
    assert code == 2 and "dataset-fashion-mnist" in capsys.readouterr().err
    assert main(["data", "check", "--fashion-root", str(empty)]) == 1
    assert main(["data", "check"]) == 0
