"""``tdsnn export FORMAT CHECKPOINT ...``: NWB spikes or a Brain-Score plugin of a checkpoint."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from tdsnn_core.analysis.probes import DEFAULT_PER_CATEGORY
from tdsnn_core.export.brainscore import VISUAL_DEGREES, WINDOW_MS, export_brainscore
from tdsnn_core.export.timebase import DEFAULT_DT_MS, check_dt
from tdsnn_core.sheets import CorticalSheet

STIMULI_HELP = (
    "gratings (8 orientations x 4 spatial frequencies x 4 phases, x 3 hues for colour models), "
    "probes (the built-in category probe set) or DIR (one subfolder of images per category)"
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``export`` command group on the ``tdsnn`` parser's subparsers."""
    group = subparsers.add_parser(
        "export", help="export a checkpoint (nwb: its spikes; brainscore: a Brain-Score plugin)"
    ).add_subparsers(metavar="FORMAT")
    add_nwb_parser(group)
    add_brainscore_parser(group)


def add_nwb_parser(group: argparse._SubParsersAction) -> None:
    """``tdsnn export nwb``: the model as a virtual recording in one NWB file."""
    p = group.add_parser(
        "nwb",
        help="spikes of a checkpoint's units to stimuli, as one NWB file",
        description="Run the stimuli through the checkpoint's model and write one NWB file: a "
        "units table (layer, area, unit, channel, sheet position, spike times), one trial per "
        "stimulus (its parameters, category or file) and the binned spikes [units, trials, T]. "
        "Timestep t of trial i is at (i*T + t) * dt seconds.",
    )
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--stimuli", required=True, metavar="gratings|probes|DIR", help=STIMULI_HELP)
    p.add_argument("--out", type=Path, required=True, help="NWB file to write (FILE.nwb)")
    p.add_argument("--layers", nargs="+", default=None, help="layers (default: every sheet)")
    p.add_argument("--dt-ms", type=float, default=DEFAULT_DT_MS, help="length of one timestep (ms)")
    p.add_argument("--timesteps", type=int, default=None, help="inference T (default: model's)")
    p.add_argument(
        "--probes-per-category",
        type=int,
        default=DEFAULT_PER_CATEGORY,
        help="images per category of --stimuli probes",
    )
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.set_defaults(handler=_export_nwb)


def select_layers(
    sheets: Mapping[str, CorticalSheet], layers: Sequence[str] | None, source: object
) -> list[str]:
    """``layers`` (default: every sheet of ``source``), each checked to have a sheet."""
    chosen = list(dict.fromkeys(layers)) if layers else list(sheets)
    unknown = [name for name in chosen if name not in sheets]
    if unknown:
        raise ValueError(f"unknown layer(s) {unknown} of {source}; known: {list(sheets)}")
    return chosen


def _export_nwb(args: argparse.Namespace) -> int:
    from tdsnn_core.checkpoints import load_checkpoint
    from tdsnn_core.export.nwb import ModelRecord, build_nwb, write_nwb
    from tdsnn_core.export.stimuli import load_stimuli
    from tdsnn_core.recording import record_spikes
    from tdsnn_core.training.distributed import resolve_device

    check_dt(args.dt_ms)
    if args.timesteps is not None and args.timesteps < 1:
        raise ValueError(f"--timesteps must be at least 1, got {args.timesteps}")
    ckpt = load_checkpoint(args.checkpoint, resolve_device(args.device))
    layers = select_layers(ckpt.sheets, args.layers, args.checkpoint)
    spec = ckpt.model.config
    stimuli = load_stimuli(
        args.stimuli, spec["input_size"], spec["in_channels"], per_category=args.probes_per_category
    )
    spikes = record_spikes(
        ckpt.model, stimuli.images, layers, args.batch_size, timesteps=args.timesteps, progress=True
    )
    nwbfile = build_nwb(
        spikes,
        ckpt.sheets,
        stimuli.trials,
        ModelRecord.of_checkpoint(ckpt),
        dt_ms=args.dt_ms,
        stimuli=stimuli.name,
    )
    path = write_nwb(nwbfile, args.out)
    timesteps, trials, _ = next(iter(spikes.values())).shape
    units = sum(s.shape[2] for s in spikes.values())
    fired = sum(int(s.sum()) for s in spikes.values())
    print(
        f"wrote {path}: {units} units of {len(layers)} layers x {trials} trials x "
        f"{timesteps} timesteps of {args.dt_ms:g} ms, {fired} spikes, "
        f"{path.stat().st_size / 1e6:.1f} MB"
    )
    return 0


def add_brainscore_parser(group: argparse._SubParsersAction) -> None:
    """``tdsnn export brainscore``: the checkpoint as a Brain-Score model plugin folder."""
    p = group.add_parser(
        "brainscore",
        help="a checkpoint as a Brain-Score model plugin folder",
        description="Write a brain-score/vision model plugin (brainscore_vision/models/<name>/): "
        "V1/V2/V4/IT committed to the checkpoint's sheets, one time bin per timestep, "
        "tissue_x/tissue_y (mm) per unit, and the weights as safetensors.",
    )
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--out", type=Path, required=True, help="plugin folder to create")
    p.add_argument("--identifier", default=None, help="model id (default: tdsnn_<file stem>)")
    p.add_argument(
        "--requirement",
        default="tdsnn",
        help="pip requirement installing this project for Brain-Score (default: tdsnn), e.g. "
        "'tdsnn @ git+https://github.com/<you>/<repo>@<commit>'",
    )
    p.add_argument(
        "--region",
        action="append",
        default=[],
        metavar="REGION=LAYER",
        help="commit REGION (V1, V2, V4, IT) to LAYER instead of the default (repeatable)",
    )
    p.add_argument(
        "--window-ms",
        type=float,
        nargs=2,
        default=list(WINDOW_MS),
        metavar=("START", "END"),
        help="the time the T timesteps tile, in ms after stimulus onset (default: 0 300)",
    )
    p.add_argument("--visual-degrees", type=float, default=VISUAL_DEGREES)
    p.set_defaults(handler=_export_brainscore)


def _parse_regions(items: Sequence[str]) -> dict[str, str]:
    regions = {}
    for item in items:
        region, sep, layer = item.partition("=")
        if not sep or not region or not layer:
            raise ValueError(f"--region {item!r} must look like REGION=LAYER, e.g. V1=layer2.0")
        regions[region] = layer
    return regions


def _export_brainscore(args: argparse.Namespace) -> int:
    files = export_brainscore(
        args.checkpoint,
        args.out,
        identifier=args.identifier,
        requirement=args.requirement,
        regions=_parse_regions(args.region),
        window_ms=tuple(args.window_ms),
        visual_degrees=args.visual_degrees,
    )
    record = json.loads((args.out / "plugin.json").read_text())
    regions = ", ".join(f"{r} = {layer}" for r, layer in record["region_layer_map"].items())
    print(f"wrote Brain-Score plugin {record['identifier']} to {args.out}: {regions}")
    print("  " + " ".join(f.name for f in files))
    return 0
