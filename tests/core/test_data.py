"""Datasets by path and generated gratings."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from tdsnn_core.data import DEFAULT_ROOT, DataNotFoundError, build_dataset, sine_grating
from tdsnn_core.data.fashion_mnist import read_idx


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


def fake_fashion_mnist(root: Path, n: int = 12) -> None:
    rng = np.random.default_rng(0)
    for prefix in ("train", "t10k"):
        write_idx(root / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, size=(n, 28, 28)))
        write_idx(root / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)


def test_fashion_mnist_from_a_given_folder_resized_and_replicated(tmp_path: Path) -> None:
    fake_fashion_mnist(tmp_path)
    ds = build_dataset(
        "fashion_mnist", str(tmp_path), "train", input_size=32, channels=3, num_classes=10, subset=5
    )
    image, label = ds[3]
    assert len(ds) == 5 and image.shape == (3, 32, 32) and label == 3
    assert image.min() >= 0.0 and image.max() <= 1.0
    raw = read_idx(tmp_path / "train-images-idx3-ubyte.gz")
    assert raw.shape == (12, 28, 28)


def test_missing_data_names_the_path_and_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(
        DataNotFoundError, match=f"{tmp_path}.*apt-get install dataset-fashion-mnist"
    ):
        build_dataset(
            "fashion_mnist", str(tmp_path), "train", input_size=28, channels=1, num_classes=10
        )
    with pytest.raises(DataNotFoundError, match="train/ and val/"):
        build_dataset(
            "imagefolder", str(tmp_path), "train", input_size=28, channels=1, num_classes=10
        )


def test_truncated_idx_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "x.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(bytes([0, 0, 8, 1]) + (100).to_bytes(4, "big") + b"\x01" * 10)
    with pytest.raises(ValueError, match="truncated"):
        read_idx(path)


def test_image_folder_layout(tmp_path: Path) -> None:
    from PIL import Image

    for split in ("train", "val"):
        for cls in ("cat", "dog"):
            (tmp_path / split / cls).mkdir(parents=True)
            Image.new("RGB", (40, 30), (200, 10, 10)).save(tmp_path / split / cls / "a.png")
    ds = build_dataset(
        "imagefolder", str(tmp_path), "test", input_size=24, channels=3, num_classes=2
    )
    image, label = ds[1]
    assert image.shape == (3, 24, 24) and label == 1
    with pytest.raises(ValueError, match="2 classes but the model has 10"):
        build_dataset(
            "imagefolder", str(tmp_path), "test", input_size=24, channels=3, num_classes=10
        )


def test_real_fashion_mnist_package() -> None:
    """`make test` installs Debian's dataset-fashion-mnist, so its absence is a failure."""
    assert Path(DEFAULT_ROOT).is_dir(), "apt-get install dataset-fashion-mnist (make data)"
    ds = build_dataset("fashion_mnist", None, "test", input_size=28, channels=1, num_classes=10)
    assert len(ds) == 10_000 and ds[0][0].shape == (1, 28, 28)


def test_grating_orientation_and_frequency_are_analytic() -> None:
    g = sine_grating(64, orientation_deg=0.0, cycles_per_image=4.0)[0]
    assert torch.allclose(g[0], g[-1], atol=1e-6)  # varies along x only
    spectrum = torch.fft.rfft(g[0] - g[0].mean()).abs()
    assert int(spectrum.argmax()) == 4
    vertical = sine_grating(64, orientation_deg=90.0, cycles_per_image=4.0)[0]
    assert torch.allclose(vertical[:, 0], vertical[:, -1], atol=1e-6)  # varies along y only
    colour = sine_grating(16, 30.0, 2.0, channels=3, color=[1.0, 0.0, 0.5])
    assert torch.allclose(colour[1], torch.full((16, 16), 0.5))
    with pytest.raises(ValueError, match="one weight per channel"):
        sine_grating(16, 0.0, 2.0, channels=3, color=[1.0])


def test_rotate_evaluates_the_square_that_training_sees(tmp_path: Path) -> None:
    """With ``rotate``, training crops come from the square inscribed in the rotated image, so
    evaluation is cut to the same square: a 6 px frame around a 72 px image shows at the edge
    of the plain evaluation crop and nowhere in the rotate one; no training draw of a white
    image holds fill; and an image folder's subset spreads over its classes."""
    from PIL import Image

    framed = np.zeros((72, 72), np.uint8)
    framed[:6], framed[-6:], framed[:, :6], framed[:, -6:] = 255, 255, 255, 255
    for split in ("train", "val"):
        for label in ("a", "b"):
            (tmp_path / split / label).mkdir(parents=True)
            for i in range(3):
                Image.fromarray(framed).save(tmp_path / split / label / f"{i}.png")

    def dataset(split: str, rotate: bool, **kw):
        return build_dataset(
            "imagefolder", str(tmp_path), split, input_size=64, channels=1, num_classes=2,
            augment=True, crop_scale=(0.5, 1.0), rotate=rotate, **kw,
        )  # fmt: skip

    assert dataset("test", rotate=False)[0][0][0, :, 0].max() > 0.5
    assert dataset("test", rotate=True)[0][0].max() < 0.05
    for i in range(3):
        Image.fromarray(np.full((72, 72), 255, np.uint8)).save(
            tmp_path / "train" / "a" / f"{i}.png"
        )
    torch.manual_seed(0)
    assert min(float(dataset("train", rotate=True)[0][0].min()) for _ in range(50)) > 0.95
    assert [label for _, label in dataset("test", rotate=True, subset=2)] == [0, 1]
