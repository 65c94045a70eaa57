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
    rotate: bool = False,
) -> Dataset:
    """The dataset of ``kind`` for ``split`` ("train" or "test") shaped for the model's input.

    ``subset`` keeps n items (deterministic): the first n, or for an image folder, whose items
    are sorted by class, n spread evenly over it so that every class is in it. ``crop_scale``
    is the area range of an image folder's random resized crops and ``rotate`` adds uniform
    rotations before them (:func:`image_folder`). Missing data raises
    :class:`DataNotFoundError` naming the path and how to get the data.
    """
    augment = augment and split == "train"
    if kind == "fashion_mnist":
        dataset = FashionMNIST(root, split, input_size, channels, augment)
    elif kind == "imagefolder":
        dataset = image_folder(root, split, input_size, channels, augment, crop_scale, rotate)
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
    if subset is not None and subset < len(dataset):
        spread = kind == "imagefolder"
        dataset = Subset(
            dataset, [i * len(dataset) // subset if spread else i for i in range(subset)]
        )
    return dataset
