"""How long the full ``tdsnn analyze`` report takes on the small model on CPU, per part.

    python bench/analysis.py [--checkpoint PATH] [--threads N] [--subset N]

Without --checkpoint it times an untrained sresnet_mini (threshold lowered so every layer
spikes) with retinotopic sheets; default settings are those of ``tdsnn analyze``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from tdsnn_core.checkpoints import load_checkpoint, save_checkpoint
from tdsnn_core.experiments import AnalysisSettings, analyze_checkpoint
from tdsnn_core.models import create_model
from tdsnn_core.reports import write_report
from tdsnn_core.sheets import build_sheets


def untrained_checkpoint(path: Path) -> Path:
    torch.manual_seed(0)
    model = create_model("sresnet_mini", v_threshold=0.2)
    layers = [(t.name, t.area, t.dims, t.downsampling) for t in model.topographic_layers()]
    save_checkpoint(path, model, build_sheets(layers), {})
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--subset", type=int, default=AnalysisSettings.subset)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.checkpoint or untrained_checkpoint(Path(tmp) / "sresnet_mini.safetensors")
        ckpt = load_checkpoint(path)
        start = time.perf_counter()
        result = analyze_checkpoint(ckpt, AnalysisSettings(subset=args.subset), progress=False)
        analysed = time.perf_counter()
        write_report([result], Path(tmp) / "report")
        written = time.perf_counter()
    print(f"{ckpt.model.model_name} on CPU, {args.threads} thread(s), subset {args.subset}")
    for part, seconds in result.timings.items():
        note = f"  (not computed: {result.errors[part]})" if part in result.errors else ""
        print(f"  {part:<15} {seconds:7.1f} s{note}")
    print(f"  {'figures+html':<15} {written - analysed:7.1f} s")
    print(f"  {'total':<15} {written - start:7.1f} s")


if __name__ == "__main__":
    main()
