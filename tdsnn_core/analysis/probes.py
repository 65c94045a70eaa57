"""Category probe sets (fLoc-style: faces, bodies, characters, places, objects).

Users point :func:`load_probe_folder` at a folder with one subfolder of images per
category. :func:`default_probe_set` assembles a stand-in offline from data that ships
with installed packages. What each default category really is (read this before
interpreting a "face patch" found with it):

- faces: scikit-image's LFW subset, 100 grey 25 x 25 crops of real faces.
- bodies: Fashion-MNIST garments (T-shirt, trouser, pullover, dress, coat, shirt): clothing
  that is worn on bodies, shown without a body. Absent when Fashion-MNIST is not installed.
- characters: scikit-learn's handwritten digits, grey 8 x 8 (blurry when enlarged).
- places: random square crops of scikit-image's photographs (camera, astronaut, coffee,
  chelsea, rocket, cat): pieces of indoor and outdoor scenes, not scene categories. Crops
  of one photograph may overlap, and both halves of :meth:`ProbeSet.halves` hold crops of
  every photograph.
- objects: scikit-image's 100 LFW "non-face" 25 x 25 patches, plus Fashion-MNIST's
  accessories (sandal, sneaker, bag, ankle boot) and the horse silhouette when available.

Every probe image is resized to the model's input size and channel count, values in [0, 1].

A category whose sources hold fewer than ``per_category`` images (faces: 100 LFW crops) is
filled up with label-preserving variants of its images: a random zoom (0.9-1.1), shift
(up to 8 % of the edge) and, except for characters, a horizontal flip. Every probe carries
the id of its source image (:attr:`ProbeSet.sources`, shared by a source and its variants);
:meth:`ProbeSet.halves` splits probes by source (the halves a readout is fitted on and
scored on, :class:`~tdsnn_core.experiments.lesions.ReadoutScorer`), so a readout is
never scored on a variant of an image it was fitted on, and bootstrap intervals resample
sources, not near-copies. Real images are used first: variants appear only when needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from tdsnn_core.data.sources import source_ids

FLOC_CATEGORIES = ("faces", "bodies", "characters", "places", "objects")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
SCENE_PHOTOS = ("camera", "astronaut", "coffee", "chelsea", "rocket", "cat")
GARMENT_CLASSES = (0, 1, 2, 3, 4, 6)  # Fashion-MNIST labels of clothing worn on the body
ACCESSORY_CLASSES = (5, 7, 8, 9)  # sandal, sneaker, bag, ankle boot

FLIPPABLE = ("faces", "bodies", "places", "objects")  # mirrored characters are not characters
DEFAULT_PER_CATEGORY = 200  # a readout scored on half of them resolves 1 point per category
MAX_ZOOM, MAX_SHIFT = 0.1, 0.08  # augmentation: relative zoom and shift (fraction of the edge)

DEFAULT_DESCRIPTIONS = {
    "faces": "LFW face crops (scikit-image lfw_subset, grey 25x25)",
    "bodies": "Fashion-MNIST garments (clothing worn on bodies, not bodies)",
    "characters": "scikit-learn handwritten digits (grey 8x8)",
    "places": "random crops of scikit-image scene photographs (not scene categories)",
    "objects": "LFW non-face patches, Fashion-MNIST accessories, horse silhouette",
}


@dataclass(frozen=True)
class ProbeSet:
    """Labelled probe images [N, C, H, W] in [0, 1]; ``labels`` index ``categories``;
    ``sources`` [N] is the id of each image's source image (default: every image its own),
    shared by augmented variants of one image; ``files`` the image file of each probe (relative
    to its folder) when it was loaded from one."""

    images: torch.Tensor
    labels: np.ndarray
    categories: tuple[str, ...]
    descriptions: dict[str, str] = field(default_factory=dict)
    sources: np.ndarray | None = None
    files: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.images.dim() != 4 or len(self.images) != len(self.labels):
            raise ValueError("probe images must be [N, C, H, W] with one label per image")
        if self.sources is None:
            object.__setattr__(self, "sources", np.arange(len(self.labels)))
        elif len(self.sources) != len(self.labels):
            raise ValueError("probe sources must give one source id per image")
        if len(self.labels) and (
            self.labels.min() < 0 or self.labels.max() >= len(self.categories)
        ):
            raise ValueError("probe labels must index the categories")

    def halves(self) -> tuple[np.ndarray, np.ndarray]:
        """Boolean masks (fit, score) of two disjoint halves: every other source image of each
        category (in order of first appearance) goes to the fit half with all its variants."""
        fit = np.zeros(len(self.labels), dtype=bool)
        for label in np.unique(self.labels):
            members = np.flatnonzero(self.labels == label)
            _, first, inverse = np.unique(
                self.sources[members], return_index=True, return_inverse=True
            )
            rank = np.argsort(np.argsort(first))  # of each source, by first appearance
            fit[members] = rank[inverse] % 2 == 0
        return fit, ~fit

    def source_means(self, responses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Responses [n_images, N] averaged over each source's variants -> ([n_sources, N],
        labels [n_sources]): one sample per independent image, so that a statistic over
        images (a Welch t, a permutation null) does not count augmented copies as data."""
        sources, index = np.unique(self.sources, return_inverse=True)
        sums = np.zeros((len(sources), responses.shape[1]))
        np.add.at(sums, index, responses)
        labels = np.zeros(len(sources), dtype=self.labels.dtype)
        labels[index] = self.labels
        return sums / np.bincount(index)[:, None], labels

    def counts(self) -> dict[str, int]:
        """Number of images per category."""
        return {name: int(np.sum(self.labels == i)) for i, name in enumerate(self.categories)}


def to_model_input(images: np.ndarray, input_size: int, channels: int) -> torch.Tensor:
    """Images [N, H, W] (grey) or [N, H, W, 3] (colour), any range -> [N, C, size, size] in [0, 1].

    Each image is min-max scaled by its dtype's range (uint8 by 255, bool as 0/1, floats
    kept), resized with antialiasing, converted to grey (luminance) for 1-channel models
    and replicated for 3-channel models.
    """
    array = np.asarray(images)
    scale = 255.0 if array.dtype == np.uint8 else 1.0
    x = torch.as_tensor(array.astype(np.float32) / scale)
    x = x.unsqueeze(1) if x.dim() == 3 else x.permute(0, 3, 1, 2)
    if x.shape[1] == 3 and channels == 1:
        x = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    elif x.shape[1] == 1 and channels != 1:
        x = x.expand(-1, channels, -1, -1)
    elif x.shape[1] != channels:
        raise ValueError(f"cannot turn {x.shape[1]}-channel images into {channels} channels")
    x = F.interpolate(x, size=(input_size, input_size), mode="bilinear", antialias=True)
    return x.clamp(0.0, 1.0).contiguous()


def load_probe_folder(
    root: str | Path,
    input_size: int,
    channels: int,
    *,
    per_category: int | None = None,
) -> ProbeSet:
    """A probe set from ``root/<category>/*.png|jpg|...`` (one subfolder per category).

    Categories are the subfolders, fLoc's order first, then any others alphabetically;
    ``per_category`` keeps the first n images (sorted by name) of each. The source image of
    each probe comes from ``root/sources.json`` where there is one (``tdsnn data build``
    writes it: :mod:`tdsnn_core.data.sources`); without it every image is its own source.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(
            f"probe folder {root} not found (expected one subfolder per category)"
        )
    folders = {p.name: p for p in root.iterdir() if p.is_dir()}
    names = [c for c in FLOC_CATEGORIES if c in folders] + sorted(
        set(folders) - set(FLOC_CATEGORIES)
    )
    parts, labels, categories, names_read = [], [], [], []
    for name in names:
        files = sorted(p for p in folders[name].iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        files = files[:per_category] if per_category else files
        if not files:
            continue
        mode = "L" if channels == 1 else "RGB"
        resized = [np.asarray(_open_resized(f, mode, input_size)) for f in files]
        parts.append(to_model_input(np.stack(resized), input_size, channels))
        labels += [len(categories)] * len(files)
        names_read += [f"{name}/{f.name}" for f in files]
        categories.append(name)
    if not categories:
        raise ValueError(f"probe folder {root} holds no category subfolder with images")
    return ProbeSet(
        torch.cat(parts),
        np.array(labels),
        tuple(categories),
        sources=source_ids(root, names_read),
        files=tuple(names_read),
    )


def _open_resized(path: Path, mode: str, size: int) -> Image.Image:
    with Image.open(path) as image:
        return image.convert(mode).resize((size, size), Image.Resampling.BILINEAR)


def default_probe_set(
    input_size: int,
    channels: int,
    *,
    per_category: int = DEFAULT_PER_CATEGORY,
    seed: int = 0,
    fashion_root: str | Path | None = None,
) -> ProbeSet:
    """The offline stand-in probe set (see the module docstring for what each category is).

    Takes ``per_category`` images per category, drawn with ``seed``; a category with fewer
    images is completed with augmented variants of them (see the module docstring). The
    bodies category and the Fashion-MNIST objects are left out when Fashion-MNIST cannot be
    found (``fashion_root``, default its installed location).
    """
    if per_category < 2:
        raise ValueError(f"per_category must be >= 2 (the t statistics need 2), got {per_category}")
    from skimage import data
    from sklearn.datasets import load_digits

    rng = np.random.default_rng(seed)
    lfw = data.lfw_subset()
    garments, accessories = _fashion_mnist(fashion_root)
    sources: dict[str, list[np.ndarray]] = {
        "faces": [lfw[:100]],
        "bodies": [garments] if garments is not None else [],
        "characters": [load_digits().images / 16.0],
        "places": [_scene_crops(per_category, rng)],
        "objects": [lfw[100:], data.horse()[None].astype(float)]
        + ([accessories] if accessories is not None else []),
    }
    parts, labels, origins, categories = [], [], [], []
    offset = 0  # source ids are unique across categories
    for name, images in sources.items():
        if not images:
            continue
        pooled = torch.cat([to_model_input(group, input_size, channels) for group in images])
        if per_category <= len(pooled):
            chosen = np.sort(rng.choice(len(pooled), size=per_category, replace=False))
            parts.append(pooled[chosen])
        else:
            chosen = np.arange(len(pooled))
            parents = np.resize(rng.permutation(len(pooled)), per_category - len(pooled))
            parts += [pooled, augment(pooled[parents], rng, flip=name in FLIPPABLE)]
            chosen = np.concatenate([chosen, parents])
        origins.append(offset + chosen)
        offset += len(pooled)
        labels += [len(categories)] * per_category
        categories.append(name)
    descriptions = {name: DEFAULT_DESCRIPTIONS[name] for name in categories}
    return ProbeSet(
        torch.cat(parts), np.array(labels), tuple(categories), descriptions, np.concatenate(origins)
    )


def augment(images: torch.Tensor, rng: np.random.Generator, *, flip: bool) -> torch.Tensor:
    """A label-preserving variant of every image [N, C, H, W]: a random zoom, shift and (with
    ``flip``) horizontal flip with probability 1/2; edges are extended, values stay in [0, 1]."""
    n = len(images)
    zoom = 1.0 + rng.uniform(-MAX_ZOOM, MAX_ZOOM, n)
    shift = rng.uniform(-2 * MAX_SHIFT, 2 * MAX_SHIFT, (n, 2))  # grid coordinates span 2
    mirror = np.where(flip & (rng.random(n) < 0.5), -1.0, 1.0)
    theta = np.zeros((n, 2, 3))
    theta[:, 0, 0], theta[:, 1, 1], theta[:, :, 2] = mirror / zoom, 1.0 / zoom, shift
    grid = F.affine_grid(torch.as_tensor(theta, dtype=images.dtype), images.shape, False)
    warped = F.grid_sample(images, grid, padding_mode="border", align_corners=False)
    return warped.clamp(0.0, 1.0)


def _scene_crops(count: int, rng: np.random.Generator, crop_fraction: float = 0.4) -> np.ndarray:
    """``count`` random square grey crops (side ``crop_fraction`` of the shorter edge) of the
    scene photographs, resized to 64 x 64 floats in [0, 1]."""
    from skimage import data
    from skimage.color import rgb2gray
    from skimage.transform import resize

    photos = [getattr(data, name)() for name in SCENE_PHOTOS]
    photos = [rgb2gray(p) if p.ndim == 3 else p / 255.0 for p in photos]
    crops = []
    for i in range(count):
        photo = photos[i % len(photos)]
        side = int(crop_fraction * min(photo.shape))
        y, x = (rng.integers(0, edge - side + 1) for edge in photo.shape)
        crops.append(resize(photo[y : y + side, x : x + side], (64, 64), anti_aliasing=True))
    return np.stack(crops)


def _fashion_mnist(root: str | Path | None) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Fashion-MNIST test garments and accessories as uint8 [n, 28, 28], or (None, None)."""
    from tdsnn_core.data import DataNotFoundError, FashionMNIST

    try:
        dataset = FashionMNIST(root, "test")
    except DataNotFoundError:
        return None, None
    images, labels = dataset.images.numpy(), dataset.labels.numpy()

    def of(classes: Sequence[int]) -> np.ndarray:
        return images[np.isin(labels, classes)][:500]

    return of(GARMENT_CLASSES), of(ACCESSORY_CLASSES)
