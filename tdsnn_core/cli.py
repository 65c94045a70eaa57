"""The ``tdsnn`` command: train, eval, positions optimize, models."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from importlib.metadata import entry_points
from pathlib import Path

import numpy as np

from tdsnn_core.data.command import add_parser as add_data_parser
from tdsnn_core.export.command import add_parser as add_export_parser
from tdsnn_core.reports.command import add_parser as add_analyze_parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    from tdsnn_core.errors import USER_ERRORS

    try:
        return args.handler(args) or 0
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tdsnn", description=__doc__)
    sub = parser.add_subparsers(metavar="COMMAND")

    p = sub.add_parser("train", help="train a model from a YAML config")
    p.add_argument("--config", type=Path, help="YAML config (see configs/)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. --set optim.lr=1e-3 (repeatable)",
    )
    p.add_argument("--resume", action="store_true", help="continue from OUT_DIR/last.safetensors")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(handler=_train)

    p = sub.add_parser("eval", help="top-1 / top-5 accuracy of a checkpoint")
    p.add_argument("checkpoint", type=Path)
    p.add_argument(
        "--compare",
        nargs="+",
        type=Path,
        default=[],
        metavar="OTHER_CHECKPOINT",
        help="score these too on the same images: every top-1 with its 95 %% bootstrap interval "
        "and the paired difference from CHECKPOINT",
    )
    p.add_argument(
        "--data",
        default=None,
        help="fashion_mnist, imagefolder or gratings (default: the checkpoint's training data)",
    )
    p.add_argument("--root", default=None, help="data folder (default: the training config's)")
    p.add_argument("--split", default="test", choices=["train", "test"])
    p.add_argument("--subset", type=int, default=None, help="evaluate the first N items only")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--timesteps", type=int, default=None, help="inference T (default: model's)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.set_defaults(handler=_eval)

    add_analyze_parser(sub)
    add_export_parser(sub)
    add_data_parser(sub)
    for plugin in entry_points(group="tdsnn.commands"):  # e.g. `serve`, from backend/
        plugin.load()(sub)

    p = sub.add_parser("models", help="list the registered models")
    p.set_defaults(handler=_models)

    positions = sub.add_parser("positions", help="cortical sheet positions").add_subparsers(
        metavar="ACTION"
    )
    p = positions.add_parser("optimize", help="pre-optimise positions by swaps (method.md)")
    p.add_argument("checkpoint", type=Path, help="auxiliary (non-topographic) checkpoint")
    p.add_argument("--out", type=Path, required=True, help="positions file to write")
    p.add_argument("--layers", nargs="*", default=None, help="layers (default: all)")
    from tdsnn_core.sheets.swap_optimize import SwapSettings

    swap = SwapSettings()
    p.add_argument(
        "--neighborhoods",
        type=int,
        default=swap.neighborhoods,
        help="neighbourhoods per layer (TDANN: 20,000)",
    )
    p.add_argument("--max-units", type=int, default=swap.max_units, help="units per neighbourhood")
    p.add_argument(
        "--rounds",
        type=int,
        default=swap.rounds,
        help="swap rounds per neighbourhood (TDANN: ~500)",
    )
    p.add_argument("--candidates", type=int, default=swap.candidates, help="pairs scored per round")
    p.add_argument(
        "--width-scale",
        type=float,
        default=swap.width_scale,
        help="multiplies each area's neighbourhood width",
    )
    p.add_argument(
        "--tether",
        type=float,
        default=None,
        help="keep each unit within this many of its layer's anchor spacings (sheet edge / "
        "grid side) of its starting (retinotopic) position",
    )
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=_optimize_positions)
    p = positions.add_parser(
        "assign",
        help="put a non-topographic checkpoint on a positions file (its loss never reads them)",
        description="Write a copy of CHECKPOINT whose sheets are those of --positions, so that a "
        "baseline is analysed on the same sheet as the topographic models it is compared with "
        "(TDANN's alpha = 0 baselines use the swapped positions). Refused for checkpoints whose "
        "loss depends on the positions.",
    )
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--positions", type=Path, required=True, help="sheets file or checkpoint")
    p.add_argument("--out", type=Path, required=True, help="checkpoint to write")
    p.set_defaults(handler=_assign_positions)

    cards = sub.add_parser("card", help="model cards of released checkpoints").add_subparsers(
        metavar="ACTION"
    )
    p = cards.add_parser("write", help="measure a checkpoint and write its card")
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--config", type=Path, required=True, help="the YAML config that trained it")
    p.add_argument("--notes", default="", help="a paragraph for the card's body")
    p.add_argument("--out", type=Path, default=None, help="default: cards/<stem>.md beside it")
    p.set_defaults(handler=_write_card)
    p = cards.add_parser("check", help="check a checkpoint against its card")
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--card", type=Path, default=None, help="default: cards/<stem>.md beside it")
    p.set_defaults(handler=_check_card)
    return parser


def _train(args: argparse.Namespace) -> int:
    from tdsnn_core.config import load_config
    from tdsnn_core.training import train

    config = load_config(args.config, args.overrides)
    metrics = train(config, resume=args.resume, progress=not args.no_progress)
    if metrics:
        print(
            f"done: epoch {metrics['epoch']}  top-1 {metrics['eval_top1']:.2f} %  "
            f"top-5 {metrics['eval_top5']:.2f} %  -> {config.run.out_dir}"
        )
    return 0


def _eval(args: argparse.Namespace) -> int:
    from torch.utils.data import DataLoader

    from tdsnn_core.checkpoints import load_checkpoint
    from tdsnn_core.experiments.layer_maps import checkpoint_data_kind, checkpoint_dataset
    from tdsnn_core.training.distributed import DistContext, resolve_device
    from tdsnn_core.training.evaluate import evaluate

    device = resolve_device(args.device)
    if args.compare:
        return _eval_compared(args, device)
    ckpt = load_checkpoint(args.checkpoint, device)
    dataset = checkpoint_dataset(ckpt, args.split, args.data, args.root, args.subset)
    kind = checkpoint_data_kind(ckpt, args.data)
    loader = DataLoader(dataset, batch_size=args.batch_size)
    ctx = DistContext(0, 1, 0, device)
    metrics = evaluate(ckpt.model, loader, ctx, timesteps=args.timesteps)
    print(
        f"{args.checkpoint}: {kind} {args.split} ({len(dataset)} images)  "
        f"top-1 {metrics['top1']:.2f} %  top-5 {metrics['top5']:.2f} %"
    )
    return 0


def _eval_compared(args: argparse.Namespace, device: str) -> int:
    import numpy as np

    from tdsnn_core.checkpoints import load_checkpoint
    from tdsnn_core.experiments.accuracy import compare_top1, score_dataset
    from tdsnn_core.experiments.layer_maps import checkpoint_dataset

    correct, reference = {}, None
    for path in [args.checkpoint, *args.compare]:
        ckpt = load_checkpoint(path, device)
        dataset = checkpoint_dataset(ckpt, args.split, args.data, args.root, args.subset)
        scored = score_dataset(ckpt.model, dataset, args.batch_size, args.timesteps)
        if reference is not None and not np.array_equal(scored.labels, reference.labels):
            raise ValueError(
                f"{path}: its {args.split} data are not {args.checkpoint}'s images "
                "(different data or root); pass --data/--root to score both on the same ones"
            )
        reference = reference or scored
        correct[str(path)] = scored.correct
    comparison = compare_top1(correct, groups=reference.sources)
    print(
        f"{args.split} ({comparison.images} images from {comparison.sources} source images), "
        "95 % paired bootstrap intervals over source images:"
    )
    print("\n".join(comparison.lines()))
    return 0


def _models(args: argparse.Namespace) -> int:
    from tdsnn_core.models import list_models

    print("\n".join(list_models()))
    return 0


def _optimize_positions(args: argparse.Namespace) -> int:
    from tdsnn_core.checkpoints import load_checkpoint
    from tdsnn_core.data.gratings import default_frequencies, grating_bank
    from tdsnn_core.recording import record_rates
    from tdsnn_core.sheets import save_sheets
    from tdsnn_core.sheets.swap_optimize import SwapSettings, optimize_positions

    ckpt = load_checkpoint(args.checkpoint)
    spec = ckpt.model.config
    size = spec["input_size"]
    images, _ = grating_bank(
        size,
        np.arange(0, 180, 180 / 8),
        default_frequencies(size),
        [0, 90, 180, 270],
        channels=spec["in_channels"],
    )
    layers = args.layers or list(ckpt.sheets)
    rates = record_rates(ckpt.model, images, layers, progress=True)
    settings = SwapSettings(
        args.neighborhoods, args.max_units, args.rounds, args.candidates, args.width_scale
    )
    sheets = dict(ckpt.sheets)
    for i, layer in enumerate(layers):
        sheet = sheets[layer]
        if args.tether is not None:
            spacing = sheet.size_mm / max(sheet.dims[1:])
            settings = replace(settings, tether_mm=args.tether * spacing)
        result = optimize_positions(
            rates[layer],
            sheet.positions,
            sheet.neighborhood_width_mm,
            settings,
            seed=args.seed + i,
            label=layer,
        )
        sheets[layer] = sheet.with_positions(result.positions)
        print(
            f"{layer} ({sheet.area}): spatial loss {result.loss_before:.4f} -> "
            f"{result.loss_after:.4f} ({result.swaps} swaps)"
        )
    save_sheets(args.out, sheets)
    print(f"wrote {args.out}")
    return 0


def _assign_positions(args: argparse.Namespace) -> int:
    from tdsnn_core.checkpoints import load_checkpoint, save_checkpoint
    from tdsnn_core.sheets import load_sheets
    from tdsnn_core.training.sheets_setup import SPATIAL_KINDS, replace_sheets, topography_kind

    ckpt = load_checkpoint(args.checkpoint)
    kind = topography_kind(ckpt.meta)
    if kind in SPATIAL_KINDS:
        raise ValueError(
            f"{args.checkpoint} was trained with the {kind} loss, which depends on its positions: "
            "its sheet cannot be swapped after training"
        )
    sheets = replace_sheets(ckpt.sheets, load_sheets(args.positions), str(args.positions))
    meta = {k: v for k, v in ckpt.meta.items() if k not in ("format", "format_version", "model")}
    train_config = meta.get("train_config", {})
    train_config.setdefault("topography", {})["positions"] = str(args.positions)
    save_checkpoint(args.out, ckpt.model, sheets, meta)
    print(f"wrote {args.out} on the sheets of {args.positions}")
    return 0


def _write_card(args: argparse.Namespace) -> int:
    from tdsnn_core.cards import build_card, card_path, write_card

    card = build_card(args.checkpoint, args.config, args.notes)
    path = write_card(card, args.out or card_path(args.checkpoint))
    subset = card["metrics"]["subset"]
    print(
        f"wrote {path}: top-1 {subset['top1']} % on {subset['images']} test images, "
        f"V1 smoothness {subset['v1_smoothness']}"
    )
    return 0


def _check_card(args: argparse.Namespace) -> int:
    from tdsnn_core.cards import check_card

    result = check_card(args.checkpoint, args.card)
    for problem in result.problems:
        print(f"{args.checkpoint}: {problem}")
    if result.problems:
        return 1
    print(f"{args.checkpoint} matches its card")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
