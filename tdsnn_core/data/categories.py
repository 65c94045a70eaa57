"""The offline category dataset (``tdsnn data build``): fLoc-style categories with natural
image statistics, assembled from images that installed packages ship, as an ImageFolder.

Five categories, the ones the category probes and lesions read (faces, bodies,
characters, places, objects); every image is grey, ``size`` x ``size`` pixels:

- faces: scikit-image's LFW subset (100 face crops); sources 0-79 train, 80-99 val.
- bodies: Fashion-MNIST garments (clothing worn on bodies); its train file for train, its
  test file for val. Needs Debian's ``dataset-fashion-mnist``.
- characters: letters and digits rendered from the installed TrueType fonts (Debian's
  ``fonts-dejavu``, ``fonts-liberation``), either polarity, and scikit-learn's handwritten
  digits; fonts and digits are split between train and val.
- places: multi-scale (crop side 12-60 % of the photo's short edge), multi-orientation
  (uniform 0-360 degree rotation) crops of natural photographs: scikit-image's, scikit-learn's
  ``china`` and ``flower``, and the nature photos of Debian's ``mate-backgrounds``; whole
  photos are held out for val.
- objects: Fashion-MNIST accessories (sandal, sneaker, bag, ankle boot), LFW non-face
  patches and scikit-image's coins, rotated to any angle.

Every image gets a random affine jitter (rotation range per category, zoom, shift, mirror
except characters) and a contrast / brightness jitter. Image ``i`` of a split and category
is drawn from its own seed, so a smaller build is a prefix of a larger one.
"""

from __future__ import annotations

import json
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from tqdm import tqdm

from tdsnn_core.data.fashion_mnist import DataNotFoundError, FashionMNIST
from tdsnn_core.data.sources import write_sources

CATEGORIES = ("faces", "bodies", "characters", "places", "objects")
SPLITS = ("train", "val")
GARMENTS, ACCESSORIES = (0, 1, 2, 3, 4, 6), (5, 7, 8, 9)
FONT_ROOT = Path("/usr/share/fonts/truetype")
FONTS = {  # the fonts the characters are rendered in (Debian packages in missing_sources)
    "dejavu": (
        "DejaVuMathTeXGyre",
        "DejaVuSans-Bold",
        "DejaVuSans-BoldOblique",
        "DejaVuSans-ExtraLight",
        "DejaVuSans-Oblique",
        "DejaVuSans",
        "DejaVuSansCondensed-Bold",
        "DejaVuSansCondensed-BoldOblique",
        "DejaVuSansCondensed-Oblique",
        "DejaVuSansCondensed",
        "DejaVuSansMono-Bold",
        "DejaVuSansMono-BoldOblique",
        "DejaVuSansMono-Oblique",
        "DejaVuSansMono",
        "DejaVuSerif-Bold",
        "DejaVuSerif-BoldItalic",
        "DejaVuSerif-Italic",
        "DejaVuSerif",
        "DejaVuSerifCondensed-Bold",
        "DejaVuSerifCondensed-BoldItalic",
        "DejaVuSerifCondensed-Italic",
        "DejaVuSerifCondensed",
    ),
    "liberation": (
        "LiberationMono-Bold",
        "LiberationMono-BoldItalic",
        "LiberationMono-Italic",
        "LiberationMono-Regular",
        "LiberationSans-Bold",
        "LiberationSans-BoldItalic",
        "LiberationSans-Italic",
        "LiberationSans-Regular",
        "LiberationSansNarrow-Bold",
        "LiberationSansNarrow-BoldItalic",
        "LiberationSansNarrow-Italic",
        "LiberationSansNarrow-Regular",
        "LiberationSerif-Bold",
        "LiberationSerif-BoldItalic",
        "LiberationSerif-Italic",
        "LiberationSerif-Regular",
    ),
}
FONT_PACKAGES = "fonts-dejavu-core fonts-dejavu-extra fonts-liberation"
MATE_NATURE = Path("/usr/share/backgrounds/mate/nature")
SKIMAGE_PHOTOS = (
    "astronaut",
    "camera",
    "coffee",
    "chelsea",
    "rocket",
    "grass",
    "gravel",
    "brick",
    "hubble_deep_field",
    "retina",
    "moon",
    "text",
)
VAL_PHOTOS = ("coffee", "gravel", "flower", "Storm", "Wood")  # whole photos held out for val
GLYPHS = string.ascii_letters + string.digits
ROTATION_DEG = {"faces": 15, "bodies": 30, "characters": 15, "places": 180, "objects": 180}

LICENCES = {
    "faces": "LFW (Huang et al. 2007) via scikit-image's lfw_subset: research use",
    "bodies": "Fashion-MNIST (Zalando Research): MIT",
    "characters": "DejaVu fonts (Bitstream Vera licence), Liberation fonts (SIL OFL 1.1), "
    "scikit-learn digits (UCI ML repository, CC BY 4.0)",
    "places": "scikit-image sample photos (CC0 / public domain, see skimage.data docstrings), "
    "scikit-learn china.jpg and flower.jpg (CC BY 2.0, Flickr), mate-backgrounds nature "
    "photos (GPL-2+, /usr/share/doc/mate-backgrounds/copyright)",
    "objects": "Fashion-MNIST (MIT), LFW non-face patches (scikit-image), scikit-image coins "
    "(Brooklyn Museum, no known copyright restrictions)",
}


@dataclass(frozen=True)
class Sources:
    """The source images of one split, grey float arrays in [0, 1], by category."""

    faces: list[np.ndarray]
    bodies: list[np.ndarray]
    digits: list[np.ndarray]
    fonts: list[Path]
    photos: dict[str, np.ndarray]
    objects: list[np.ndarray]


def missing_sources(fashion_root: str | Path | None = None) -> list[str]:
    """What is missing to build the dataset, each with how to install it (empty: all there)."""
    missing = []
    try:
        FashionMNIST(fashion_root, "test")
    except DataNotFoundError:
        missing.append("Fashion-MNIST (bodies, objects): apt-get install dataset-fashion-mnist")
    if any(not path.is_file() for path in _font_files()):
        missing.append(f"TrueType fonts (characters): apt-get install {FONT_PACKAGES}")
    if not MATE_NATURE.is_dir():
        missing.append("natural photographs (places): apt-get install mate-backgrounds")
    return missing


def build_category_dataset(
    out: str | Path,
    *,
    per_class: dict[str, int] | None = None,
    size: int = 72,
    seed: int = 0,
    fashion_root: str | Path | None = None,
    progress: bool = True,
) -> dict:
    """Write ``out/{train,val}/<category>/*.png``, each split's ``sources.json`` (the source
    image of every image: :mod:`tdsnn_core.data.sources`) and ``out/provenance.json``;
    returns the provenance record. ``per_class`` gives images per category and split (default 4000
    train, 400 val). Refuses when a required source is missing, naming the package."""
    per_class = {"train": 4000, "val": 400, **(per_class or {})}
    missing = missing_sources(fashion_root)
    if missing:
        raise DataNotFoundError("cannot build the category dataset: " + "; ".join(missing))
    out = Path(out)
    counts: dict[str, dict[str, int]] = {}
    for split in SPLITS:
        sources = load_sources(split, fashion_root)
        counts[split], made_from = {}, {}
        for category in CATEGORIES:
            folder = out / split / category
            folder.mkdir(parents=True, exist_ok=True)
            n = per_class[split]
            images = tqdm(
                category_images(category, sources, split, n, size, seed),
                total=n,
                desc=f"{split}/{category}",
                disable=not progress,
            )
            for i, (image, source) in enumerate(images):
                name = f"{category}_{i:05d}.png"
                Image.fromarray(image).save(folder / name, optimize=False)
                made_from[f"{category}/{name}"] = source
            counts[split][category] = n
        write_sources(out / split, made_from)
    record = provenance(counts, size, seed, fashion_root)
    (out / "provenance.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def provenance(
    counts: dict[str, dict[str, int]], size: int, seed: int, fashion_root: str | Path | None
) -> dict:
    """What the built dataset holds, where each category comes from, and its licences."""
    import skimage
    import sklearn

    return {
        "dataset": "tdsnn categories",
        "size_px": size,
        "seed": seed,
        "counts": counts,
        "licences": LICENCES,
        "val_photos": list(VAL_PHOTOS),
        "fonts": [p.name for p in _font_files()],
        "fashion_mnist": str(fashion_root or "/usr/share/datasets/fashion-mnist"),
        "versions": {"scikit-image": skimage.__version__, "scikit-learn": sklearn.__version__},
    }


def load_sources(split: str, fashion_root: str | Path | None = None) -> Sources:
    """The source images of ``split`` ("train" or "val"), split by source (no leakage)."""
    from skimage import data
    from sklearn.datasets import load_digits

    train = split == "train"
    lfw = data.lfw_subset()
    faces, non_faces = lfw[:100], lfw[100:]
    fashion = FashionMNIST(fashion_root, "train" if train else "test")
    images, labels = fashion.images.numpy() / 255.0, fashion.labels.numpy()
    digits = load_digits().images / 16.0
    fonts = _font_files()
    held_fonts = fonts[::4]  # every 4th font file renders the val characters
    photos = {name: photo for name, photo in _photos().items() if (name in VAL_PHOTOS) != train}
    coins = data.coins() / 255.0
    return Sources(
        faces=list(faces[:80] if train else faces[80:]),
        bodies=list(images[np.isin(labels, GARMENTS)]),
        digits=list(digits[:1400] if train else digits[1400:]),
        fonts=[f for f in fonts if (f in held_fonts) != train],
        photos=photos,
        objects=list(images[np.isin(labels, ACCESSORIES)])
        + list(non_faces[:80] if train else non_faces[80:])
        + [coins],
    )


def category_images(
    category: str, sources: Sources, split: str, count: int, size: int, seed: int
) -> Iterator[tuple[np.ndarray, str]]:
    """``count`` uint8 ``size`` x ``size`` images of ``category``, each with the id of the
    source image it was made from; image i from its own seed."""
    make = _MAKERS[category]
    for i in range(count):
        key = (seed, SPLITS.index(split), CATEGORIES.index(category), i)
        rng = np.random.default_rng(key)
        image, source = make(sources, rng, size)
        yield _to_uint8(_photometric(image, rng)), source


Made = tuple[np.ndarray, str]  # an image in [0, 1] and the id of its source


def _face(sources: Sources, rng: np.random.Generator, size: int) -> Made:
    index, image = _pick(sources.faces, rng)
    return _jitter(image, rng, size, ROTATION_DEG["faces"]), f"lfw-face:{index}"


def _body(sources: Sources, rng: np.random.Generator, size: int) -> Made:
    index, image = _pick(sources.bodies, rng)
    return _jitter(image, rng, size, ROTATION_DEG["bodies"]), f"fashion-mnist-garment:{index}"


def _object(sources: Sources, rng: np.random.Generator, size: int) -> Made:
    index, image = _pick(sources.objects, rng)
    return _jitter(image, rng, size, ROTATION_DEG["objects"]), f"object:{index}"


def _character(sources: Sources, rng: np.random.Generator, size: int) -> Made:
    """A handwritten digit (a quarter) or a letter or digit rendered in a font, either
    polarity; a font's glyph (in any size and polarity) is one source."""
    if rng.random() < 0.25:  # handwritten digits, white ink on black as scikit-learn has them
        index, image = _pick(sources.digits, rng)
        return _jitter(image, rng, size, 15, mirror=False), f"sklearn-digit:{index}"
    font_path = sources.fonts[rng.integers(len(sources.fonts))]
    font = ImageFont.truetype(str(font_path), int(rng.integers(size // 2, int(size * 0.85))))
    glyph = GLYPHS[rng.integers(len(GLYPHS))]
    ink, paper = (0, 255) if rng.random() < 0.5 else (255, 0)
    canvas = Image.new("L", (size, size), paper)
    ImageDraw.Draw(canvas).text((size / 2, size / 2), glyph, fill=ink, font=font, anchor="mm")
    image = _jitter(np.asarray(canvas) / 255.0, rng, size, ROTATION_DEG["characters"], mirror=False)
    return image, f"font:{font_path.stem}:{glyph}"


def _place(sources: Sources, rng: np.random.Generator, size: int) -> Made:
    """A crop of a random photo at a random scale and orientation (rotated before cropping,
    so the crop has no empty corners); the photo is the source."""
    names = sorted(sources.photos)
    name = names[rng.integers(len(names))]
    photo = sources.photos[name]
    short = min(photo.shape)
    side = int(short * rng.uniform(0.12, 0.6))
    reach = int(np.ceil(side * np.sqrt(2))) // 2 + 1  # half the diagonal: any rotation fits
    reach = min(reach, short // 2)
    side = min(side, int(2 * reach / np.sqrt(2)))
    cy = rng.integers(reach, photo.shape[0] - reach + 1)
    cx = rng.integers(reach, photo.shape[1] - reach + 1)
    patch = Image.fromarray(
        (photo[cy - reach : cy + reach, cx - reach : cx + reach] * 255).astype(np.uint8)
    )
    patch = patch.rotate(rng.uniform(0, 360), resample=Image.BILINEAR)
    c, h = patch.width / 2, side / 2
    box = (round(c - h), round(c - h), round(c + h), round(c + h))
    crop = patch.resize((size, size), Image.BILINEAR, box=box, reducing_gap=2.0)
    return np.asarray(crop) / 255.0, f"photo:{name}"


_MAKERS: dict[str, Callable[[Sources, np.random.Generator, int], Made]] = {
    "faces": _face,
    "bodies": _body,
    "characters": _character,
    "places": _place,
    "objects": _object,
}


def _jitter(
    image: np.ndarray, rng: np.random.Generator, size: int, max_deg: float, *, mirror: bool = True
) -> np.ndarray:
    """The image resized to ``size`` and put through a random rotation (+-``max_deg``),
    zoom (0.85-1.15), shift (+-8 % of the edge) and mirror (p = 1/2 when ``mirror``); the
    area uncovered is filled with the image's border median."""
    fill = float(np.median(np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])))
    picture = Image.fromarray((np.clip(image, 0, 1) * 255).astype(np.uint8)).resize(
        (size, size), Image.BICUBIC
    )
    if mirror and rng.random() < 0.5:
        picture = picture.transpose(Image.FLIP_LEFT_RIGHT)
    angle = np.deg2rad(rng.uniform(-max_deg, max_deg))
    zoom = rng.uniform(0.85, 1.15)
    dx, dy = rng.uniform(-0.08, 0.08, 2) * size
    cos, sin = np.cos(angle) / zoom, np.sin(angle) / zoom
    c = size / 2
    # output (x, y) -> input: rotate and scale about the centre, then shift
    coeffs = (
        cos,
        sin,
        c - cos * (c + dx) - sin * (c + dy),
        -sin,
        cos,
        c + sin * (c + dx) - cos * (c + dy),
    )
    warped = picture.transform(
        (size, size), Image.AFFINE, coeffs, Image.BILINEAR, fillcolor=int(fill * 255)
    )
    return np.asarray(warped) / 255.0


def _photometric(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random contrast (0.7-1.3 about the mean) and brightness (+-0.1) change."""
    mean = image.mean()
    return (image - mean) * rng.uniform(0.7, 1.3) + mean + rng.uniform(-0.1, 0.1)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return (np.clip(image, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


def _pick(images: list[np.ndarray], rng: np.random.Generator) -> tuple[int, np.ndarray]:
    """A random image and its index."""
    index = int(rng.integers(len(images)))
    return index, images[index]


def _font_files() -> list[Path]:
    """The font files of :data:`FONTS`, sorted by name."""
    paths = [
        FONT_ROOT / folder / f"{name}.ttf" for folder, names in FONTS.items() for name in names
    ]
    return sorted(paths, key=lambda p: p.name)


def _photos() -> dict[str, np.ndarray]:
    """Grey natural photographs in [0, 1] by name (scikit-image, scikit-learn, mate)."""
    from skimage import data
    from skimage.color import rgb2gray
    from sklearn.datasets import load_sample_images

    def grey(image: np.ndarray) -> np.ndarray:
        image = rgb2gray(image[..., :3]) if image.ndim == 3 else image / 255.0
        return image.astype(np.float32)

    photos = {name: grey(getattr(data, name)()) for name in SKIMAGE_PHOTOS}
    samples = load_sample_images()
    for name, image in zip(("china", "flower"), samples.images, strict=True):
        photos[name] = grey(image)
    for path in sorted(MATE_NATURE.glob("*.jpg")):
        picture = Image.open(path).convert("L")
        picture.thumbnail((1200, 1200))  # the largest are 5640 px: crops of 12 % suffice
        photos[path.stem] = np.asarray(picture, dtype=np.float32) / 255.0
    return photos
