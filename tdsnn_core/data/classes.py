"""Names of a model's output classes: those of its training data, stored in the checkpoint.

A checkpoint trained before names were stored gets them from its data kind (Fashion-MNIST,
gratings); a 1000-output model without names, or one trained on folders named by the 1000
WordNet ids of ImageNet-1k (``n01440764``, ...), gets ImageNet's names (torchvision's list,
read from its weights metadata: nothing is downloaded); any other model its indices as text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from torch.utils.data import Dataset, Subset

from tdsnn_core.data.fashion_mnist import CLASSES as FASHION_MNIST_CLASSES
from tdsnn_core.data.gratings import grating_classes

IMAGENET_OUTPUTS = 1000
WORDNET_ID = re.compile(r"^n\d{8}$")


def imagenet_classes() -> tuple[str, ...]:
    """ImageNet-1k class names in the standard order (sorted WordNet ids)."""
    from torchvision.models import ResNet18_Weights

    return tuple(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


def dataset_classes(dataset: Dataset) -> list[str] | None:
    """The class names a dataset declares (``dataset.classes``, through subsets), or None."""
    while isinstance(dataset, Subset):
        dataset = dataset.dataset
    classes = getattr(dataset, "classes", None)
    return None if classes is None else [str(name) for name in classes]


def class_names(meta: Mapping, num_classes: int) -> tuple[str, ...]:
    """Names of the ``num_classes`` outputs of a checkpoint with metadata ``meta``."""
    stored = meta.get("classes")
    if isinstance(stored, list) and len(stored) == num_classes:
        if _imagenet_folders(stored):
            return imagenet_classes()
        return tuple(str(name) for name in stored)
    kind = ((meta.get("train_config") or {}).get("data") or {}).get("kind")
    if kind == "fashion_mnist" and num_classes == len(FASHION_MNIST_CLASSES):
        return FASHION_MNIST_CLASSES
    if kind == "gratings":
        return grating_classes(num_classes)
    if num_classes == IMAGENET_OUTPUTS:
        return imagenet_classes()
    return tuple(str(k) for k in range(num_classes))


def _imagenet_folders(names: list) -> bool:
    """Whether ``names`` are ImageNet-1k's folders: 1000 sorted WordNet ids."""
    return (
        len(names) == IMAGENET_OUTPUTS
        and all(WORDNET_ID.match(str(name)) for name in names)
        and names == sorted(names)
    )
