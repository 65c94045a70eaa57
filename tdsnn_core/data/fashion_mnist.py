"""Fashion-MNIST from its IDX files (Debian package ``dataset-fashion-mnist``, or any folder)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

DEFAULT_ROOT = "/usr/share/datasets/fashion-mnist"
CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


class DataNotFoundError(FileNotFoundError):
    """A dataset path that does not hold the expected files, with how to get them."""


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) of unsigned bytes."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        data = fh.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    payload = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if payload.size != int(np.prod(dims)):
        raise ValueError(f"{path}: truncated IDX file ({payload.size} of {np.prod(dims)} bytes)")
    return payload.reshape(dims)


def _find(root: Path, stem: str) -> Path:
    for candidate in (root / f"{stem}.gz", root / stem):
        if candidate.is_file():
            return candidate
    raise DataNotFoundError(
        f"Fashion-MNIST file {stem}(.gz) not found in {root}. Install the Debian package "
        "(apt-get install dataset-fashion-mnist, files in /usr/share/datasets/fashion-mnist) "
        "or set data.root to a folder holding the four IDX files."
    )


class FashionMNIST(Dataset):
    """Grey 28 x 28 clothing images in [0, 1], resized and channel-replicated for the model."""

    classes = CLASSES

    def __init__(
        self,
        root: str | Path | None,
        split: str,
        input_size: int = 28,
        channels: int = 1,
        augment: bool = False,
    ) -> None:
        if split not in FILES:
            raise ValueError(f"split must be one of {list(FILES)}, got {split!r}")
        root = Path(root or DEFAULT_ROOT)
        image_file, label_file = (_find(root, stem) for stem in FILES[split])
        self.images = torch.from_numpy(read_idx(image_file).copy())
        self.labels = torch.from_numpy(read_idx(label_file).astype(np.int64))
        if len(self.images) != len(self.labels):
            raise ValueError(f"{root}: {len(self.images)} images but {len(self.labels)} labels")
        self.input_size, self.channels, self.augment = input_size, channels, augment

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image = self.images[index].float().div(255.0).unsqueeze(0)
        if self.augment:
            image = random_flip_and_shift(image)
        if self.input_size != image.shape[-1]:
            image = F.interpolate(
                image.unsqueeze(0),
                size=(self.input_size, self.input_size),
                mode="bilinear",
                align_corners=False,
            ).squeeze(0)
        return image.expand(self.channels, -1, -1), int(self.labels[index])


def random_flip_and_shift(image: torch.Tensor, max_shift: int = 2) -> torch.Tensor:
    """Random horizontal flip and a random shift of up to ``max_shift`` pixels (zero padding)."""
    if torch.rand(()) < 0.5:
        image = image.flip(-1)
    dy, dx = torch.randint(-max_shift, max_shift + 1, (2,)).tolist()
    padded = F.pad(image, (max_shift,) * 4)
    h, w = image.shape[-2:]
    return padded[..., max_shift + dy : max_shift + dy + h, max_shift + dx : max_shift + dx + w]
