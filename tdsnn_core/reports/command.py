"""``tdsnn analyze CHECKPOINT [--compare OTHER ...] --out DIR``: the full analysis report."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from tdsnn_core.experiments.robustness import DEFAULT_STRENGTHS
from tdsnn_core.experiments.settings import PARTS, AnalysisSettings


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``analyze`` command on the ``tdsnn`` parser's subparsers."""
    p = subparsers.add_parser(
        "analyze",
        help="maps, lesions, temporal dynamics and robustness of a checkpoint",
        description="Compute every analysis of a checkpoint (optionally compared with another) "
        "and write metrics.json, PNG figures and index.html to --out.",
    )
    p.add_argument("checkpoint", type=Path)
    p.add_argument(
        "--compare",
        type=Path,
        nargs="+",
        default=[],
        metavar="OTHER_CHECKPOINT",
        help="more checkpoints shown side by side (up to 5; one gets a differences table)",
    )
    p.add_argument("--out", type=Path, required=True, help="report folder to write")
    p.add_argument(
        "--sheet-from",
        type=Path,
        default=None,
        metavar="CHECKPOINT",
        help="analyse the non-topographic models (loss 'none') on this checkpoint's or "
        "sheets file's positions, so that all models are compared on one sheet",
    )
    p.add_argument(
        "--data",
        default=None,
        help="labelled data: fashion_mnist, imagefolder or "
        "gratings (default: the checkpoint's training data)",
    )
    p.add_argument("--root", default=None, help="data folder (default: the training config's)")
    p.add_argument(
        "--top1-subset",
        type=int,
        default=None,
        help="test images scored for top-1, spread over the classes (default: all of them)",
    )
    p.add_argument("--subset", type=int, default=256, help="labelled test images used")
    p.add_argument(
        "--probes",
        default=None,
        metavar="DIR",
        help="category probe folder, one "
        "subfolder per category (default: the built-in stand-in probe set)",
    )
    p.add_argument(
        "--probes-per-category",
        type=int,
        default=AnalysisSettings.probes_per_category,
        help="probe images per category (default: all of a --probes folder, 200 of the built-in "
        "set); half are scored, so 200 resolves 1 point of accuracy",
    )
    p.add_argument(
        "--lesion-controls",
        type=int,
        default=AnalysisSettings.lesion_controls,
        help="random control lesions per lesion (at least 20)",
    )
    p.add_argument("--v1-layer", default=None, help="orientation-map layer (default: first V1)")
    p.add_argument("--it-layer", default=None, help="category-map layer (default: last IT)")
    p.add_argument("--orientations", type=int, default=8, help="grating orientations")
    p.add_argument(
        "--timesteps",
        type=int,
        nargs="+",
        default=None,
        help="inference T values for accuracy/entropy vs T (default: 1, T/2, T, 2T)",
    )
    p.add_argument(
        "--lesion-radius",
        type=float,
        default=0.15,
        help="lesion radius as a fraction of the IT sheet edge",
    )
    p.add_argument(
        "--robustness-subset",
        type=int,
        default=128,
        help="test images for robustness (of --subset, spread evenly over the classes)",
    )
    for name, strengths in DEFAULT_STRENGTHS.items():
        p.add_argument(
            f"--{name.replace('_', '-')}",
            type=float,
            nargs="+",
            default=list(strengths),
            metavar="S",
            help=f"{name} strengths",
        )
    p.add_argument(
        "--parts",
        nargs="+",
        choices=PARTS,
        default=list(PARTS),
        metavar="PART",
        help=f"analyses to run (default: all: {', '.join(PARTS)}); the rest show as n/a",
    )
    p.add_argument(
        "--fisher-images",
        type=int,
        default=AnalysisSettings.fisher_images,
        help="test images, spread over the classes, for Fisher information and its interval",
    )
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=run_analyze)


def run_analyze(args: argparse.Namespace) -> int:
    """Handler of ``tdsnn analyze``: analyse, write the report, print where it is."""
    from tdsnn_core.checkpoints import load_checkpoint
    from tdsnn_core.experiments import analyze_checkpoint
    from tdsnn_core.reports import write_report
    from tdsnn_core.sheets import load_sheets
    from tdsnn_core.training.distributed import resolve_device

    settings = AnalysisSettings(
        data=args.data,
        root=args.root,
        top1_subset=args.top1_subset,
        subset=args.subset,
        probe_root=args.probes,
        probes_per_category=args.probes_per_category,
        lesion_controls=args.lesion_controls,
        v1_layer=args.v1_layer,
        it_layer=args.it_layer,
        n_orientations=args.orientations,
        timesteps=tuple(args.timesteps) if args.timesteps else None,
        lesion_radius_fraction=args.lesion_radius,
        robustness={name: tuple(getattr(args, name)) for name in DEFAULT_STRENGTHS},
        robustness_subset=args.robustness_subset,
        fisher_images=args.fisher_images,
        batch_size=args.batch_size,
        seed=args.seed,
    )
    device = resolve_device(args.device)
    paths = [args.checkpoint, *args.compare]
    labels = [p.stem for p in paths]
    if len(set(labels)) < len(labels):
        labels = [f"{tag}: {label}" for tag, label in zip("ABCDEF", labels, strict=False)]
    checkpoints = [load_checkpoint(path, device) for path in paths]
    if args.sheet_from is not None:
        put_baselines_on(checkpoints, load_sheets(args.sheet_from), str(args.sheet_from))
    warnings = sheet_warnings(checkpoints, labels)
    for warning in warnings:
        print(f"WARNING: {warning}", file=sys.stderr)
    results = [
        analyze_checkpoint(
            ckpt, settings, label=label, parts=args.parts, progress=not args.no_progress
        )
        for ckpt, label in zip(checkpoints, labels, strict=True)
    ]
    index = write_report(results, args.out, warnings)
    for result in results:
        for part, message in result.errors.items():
            print(f"{result.label}: {part} not computed: {message}")
    print(f"wrote {index}")
    return 0


def put_baselines_on(checkpoints: Sequence, sheets: dict, source: str) -> None:
    """Give every checkpoint whose loss never read its positions (loss 'none') ``sheets``."""
    from tdsnn_core.training.sheets_setup import SPATIAL_KINDS, replace_sheets, topography_kind

    for ckpt in checkpoints:
        if topography_kind(ckpt.meta) not in SPATIAL_KINDS:
            ckpt.sheets = replace_sheets(ckpt.sheets, sheets, source)


def sheet_warnings(checkpoints: Sequence, labels: Sequence[str]) -> list[str]:
    """One warning per model whose sheet differs from the first model's: their maps then
    differ by sheet as well as by loss, which no map statistic can tell apart."""
    from tdsnn_core.training.sheets_setup import sheets_differ

    first, warnings = checkpoints[0], []
    for ckpt, label in zip(checkpoints[1:], labels[1:], strict=True):
        if layers := sheets_differ(first.sheets, ckpt.sheets):
            warnings.append(
                f"{labels[0]} and {label} sit on different cortical sheets "
                f"({', '.join(layers)}): their map differences are differences of sheets as "
                "well as of losses. Analyse baselines on the topographic model's sheet "
                "(--sheet-from CHECKPOINT) or train them on the same positions file."
            )
    return warnings
