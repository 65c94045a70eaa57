"""ImageNet-style folders: ``root/train/<class>/*.jpg`` and ``root/val/<class>/*.jpg``."""

from __future__ import annotations

import math
from pathlib import Path

from torchvision import datasets, transforms

from tdsnn_core.data.fashion_mnist import DataNotFoundError

SPLIT_FOLDERS = {"train": "train", "test": "val"}


def image_folder(
    root: str | Path | None,
    split: str,
    input_size: int,
    channels: int,
    augment: bool,
    crop_scale: tuple[float, float] = (0.08, 1.0),
    rotate: bool = False,
) -> datasets.ImageFolder:
    """An ImageFolder dataset of tensors in [0, 1] at the model's input size; training
    augmentation is a random resized crop (area fraction in ``crop_scale``) and a flip.

    ``rotate`` adds a uniform 0-360 degree rotation before the crop, cut to the square inscribed
    in the rotated image (side / sqrt 2) so that no corner of fill enters the crop: every edge
    orientation is then equally likely in training, which a V1 orientation map needs
    (upright faces, bodies and letters are dominated by horizontal and vertical edges). The
    evaluation split is cut to the same square, upright, so that it sees the scale that training
    saw."""
    if root is None:
        raise DataNotFoundError("data.root must point at a folder with train/ and val/ subfolders")
    folder = Path(root) / SPLIT_FOLDERS[split]
    if not folder.is_dir():
        raise DataNotFoundError(
            f"{folder} not found: data.root must hold train/ and val/ folders with one "
            "subfolder of images per class (the ImageNet layout); nothing is downloaded"
        )
    # rotate: the square inscribed in a rotated image (side / sqrt 2), in training at a random
    # angle and in evaluation upright, so that both see the same part of the image
    inscribed = [transforms.Resize(input_size * 3 // 2)] if rotate else []
    if rotate and augment and split == "train":
        bilinear = transforms.InterpolationMode.BILINEAR
        inscribed.append(transforms.RandomRotation(180, interpolation=bilinear))
    if rotate:
        inscribed.append(transforms.CenterCrop(int(input_size * 3 // 2 / math.sqrt(2))))
    if augment and split == "train":
        steps = [
            *inscribed,
            transforms.RandomResizedCrop(input_size, scale=tuple(crop_scale)),
            transforms.RandomHorizontalFlip(),
        ]
    else:
        steps = [
            *inscribed,
            transforms.Resize(int(round(input_size * 8 / 7))),
            transforms.CenterCrop(input_size),
        ]
    if channels == 1:
        steps.append(transforms.Grayscale())
    steps.append(transforms.ToTensor())
    return datasets.ImageFolder(str(folder), transform=transforms.Compose(steps))
