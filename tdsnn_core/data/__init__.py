"""Datasets by path (Fashion-MNIST IDX files, ImageNet-style folders) and generated gratings."""

from __future__ import annotations

from torch.utils.data import Dataset, Subset

from tdsnn_core.data.fashion_mnist import DEFAULT_ROOT, DataNotFoundError, FashionMNIST
from tdsnn_core.data.gratings import GratingsDataset, grating_bank, sine_grating
from tdsnn_core.data.image_folder import image_folder

__all__ = [
    "DEFAULT_ROOT",
    "DataNotFoundError",
    "FashionMNIST",
    "GratingsDataset",
    "build_dataset",
    "grating_bank",
    "sine_grating",
]


def build_dataset(
    kind: str,
    root: str | None,
    split: str,
    *,
    input_size: int,
    channels: int,
    num_classes: int,
    augment: bool = False,
    subset: int | None = None,
    crop_scale: tuple[float, float] = (0.08, 1.0),
) -> Dataset:
    """The dataset of ``kind`` for ``split`` ("train" or "test") shaped for the model's input.

    ``subset`` keeps the first n items (deterministic); ``crop_scale`` is the area range of
    an image folder's random resized crops. Missing data raises
    :class:`DataNotFoundError` naming the path and how to get the data.
    """
    augment = augment and split == "train"
    if kind == "fashion_mnist":
        dataset = FashionMNIST(root, split, input_size, channels, augment)
    elif kind == "imagefolder":
        dataset = image_folder(root, split, input_size, channels, augment, crop_scale)
    elif kind == "gratings":
        length = 2048 if split == "train" else 512
        dataset = GratingsDataset(input_size, channels, num_classes, length, seed=split == "test")
    else:
        raise ValueError(
            f"unknown dataset kind {kind!r}; known: fashion_mnist, imagefolder, gratings"
        )
    n_classes = len(getattr(dataset, "classes", range(num_classes)))
    if n_classes != num_classes:
        raise ValueError(f"dataset has {n_classes} classes but the model has {num_classes} outputs")
    if subset is not None:
        dataset = Subset(dataset, range(min(subset, len(dataset))))
    return dataset
