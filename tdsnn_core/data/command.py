"""``tdsnn data``: assemble the offline category dataset from installed packages."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> None:
    """Register ``data build`` and ``data check`` on the ``tdsnn`` sub-command parsers."""
    data = subparsers.add_parser("data", help="the offline category dataset").add_subparsers(
        metavar="ACTION"
    )
    p = data.add_parser(
        "build",
        help="write the category dataset (ImageFolder layout) from installed packages",
        description="Write OUT/train/<category>/*.png, OUT/val/<category>/*.png and "
        "OUT/provenance.json: faces, bodies, characters, places, objects, grey, from images "
        "that installed packages ship (tdsnn_core/data/categories.py says which). "
        "Deterministic: the same seed gives the same images; a smaller build is a prefix.",
    )
    p.add_argument("--out", type=Path, required=True, help="folder to write (e.g. data/categories)")
    p.add_argument("--train-per-class", type=int, default=4000)
    p.add_argument("--val-per-class", type=int, default=400)
    p.add_argument("--size", type=int, default=72, help="image side in pixels (default 72)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fashion-root", default=None, help="Fashion-MNIST folder (default Debian's)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(handler=_build)
    p = data.add_parser("check", help="say which packages the dataset needs and which are missing")
    p.add_argument("--fashion-root", default=None)
    p.set_defaults(handler=_check)


def _build(args: argparse.Namespace) -> int:
    from tdsnn_core.data.categories import build_category_dataset

    for name, value in (("--train-per-class", args.train_per_class), ("--size", args.size)):
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    record = build_category_dataset(
        args.out,
        per_class={"train": args.train_per_class, "val": args.val_per_class},
        size=args.size,
        seed=args.seed,
        fashion_root=args.fashion_root,
        progress=not args.no_progress,
    )
    total = sum(sum(split.values()) for split in record["counts"].values())
    print(f"wrote {total} images to {args.out} (provenance: {args.out / 'provenance.json'})")
    return 0


def _check(args: argparse.Namespace) -> int:
    from tdsnn_core.data.categories import missing_sources

    missing = missing_sources(args.fashion_root)
    for line in missing:
        print(f"missing: {line}")
    if missing:
        return 1
    print("every required source is installed")
    return 0
