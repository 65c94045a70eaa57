"""Sweep the STC weights: train one epoch per setting with ``tdsnn train`` (in parallel
processes, e.g. on one GPU) and print top-1 and V1 orientation-map smoothness per setting.

    python bench/stc_weight_sweep.py --config configs/fmnist_stc.yaml --device cuda --jobs 8

Settings are ``alpha,beta,ramp_epochs,seed``; ``none`` trains the non-topographic baseline.
The defaults are the sweep reported in docs/results.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

DEFAULT_SETTINGS = (
    "none,,,0",
    "none,,,1",
    "0.5,0.5,0,0",
    "0.25,0.25,0,0",
    "0.1,0.1,0,0",
    "0.05,0.05,0,0",
    "0.1,0.4,0,0",
    "0.5,0.5,0.5,0",
    "0.5,0.5,1,0",
    "0.25,0.25,0.5,0",
    "0.25,0.25,0.5,1",
    "0.25,0.25,1,0",
    "0.15,0.15,0.5,0",
    "0.1,0.1,0.5,0",
    "0.05,0.05,0.5,0",
)


def overrides(setting: str, out_dir: Path, device: str) -> list[str]:
    alpha, beta, ramp, seed = setting.split(",")
    keys = {"run.out_dir": out_dir, "run.seed": seed, "run.device": device}
    if alpha == "none":
        keys["topography.kind"] = "none"
    else:
        keys |= {
            "topography.alpha": alpha,
            "topography.beta": beta,
            "topography.ramp_epochs": ramp,
        }
    return [arg for key, value in keys.items() for arg in ("--set", f"{key}={value}")]


def train(config: str, setting: str, out_dir: Path, device: str, extra: list[str]) -> None:
    command = [sys.executable, "-m", "tdsnn_core.cli", "train", "--config", config]
    command += ["--no-progress", *overrides(setting, out_dir, device)]
    command += [arg for item in extra for arg in ("--set", item)]
    log = out_dir.with_suffix(".log")
    with open(log, "w") as handle:
        if subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT).returncode:
            print(f"{setting}: training failed, see {log}")


def summary(setting: str, out_dir: Path) -> str:
    from tdsnn_core.checkpoints import load_checkpoint
    from tdsnn_core.experiments import area_layer, layer_orientation_map

    best = out_dir / "best.safetensors"
    if not best.exists():
        return f"| {setting} | failed | |"
    ckpt = load_checkpoint(best)
    sheet = ckpt.sheets[area_layer(ckpt.sheets, "V1")]
    try:
        smoothness = f"{layer_orientation_map(ckpt.model, sheet).smoothness.score:.3f}"
    except ValueError as exc:  # e.g. V1 silent to gratings
        smoothness = f"n/a ({exc})"
    return f"| {setting} | {ckpt.meta['metrics']['eval_top1']:.2f} | {smoothness} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/fmnist_stc.yaml")
    parser.add_argument("--settings", nargs="+", default=list(DEFAULT_SETTINGS))
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--jobs", type=int, default=1, help="trainings run at once")
    parser.add_argument("--out", type=Path, default=None, help="default: a temporary folder")
    parser.add_argument(
        "--set",
        dest="extra",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="another config override for every run (repeatable)",
    )
    args = parser.parse_args()
    root = args.out or Path(tempfile.mkdtemp(prefix="stc_sweep_"))
    root.mkdir(parents=True, exist_ok=True)
    dirs = {s: root / s.replace(",", "_").replace(".", "p") for s in args.settings}
    with ThreadPoolExecutor(args.jobs) as pool:
        list(
            pool.map(
                lambda s: train(args.config, s, dirs[s], args.device, args.extra), args.settings
            )
        )
    print("| alpha,beta,ramp_epochs,seed | top-1 (%) | V1 smoothness |\n|---|---|---|")
    for setting in args.settings:
        print(summary(setting, dirs[setting]))


if __name__ == "__main__":
    main()
