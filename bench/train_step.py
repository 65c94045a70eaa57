"""Training-step cost of the STC loss, measured side by side in one run (CPU or CUDA).

Prints, for the small model (28 px) and SResNet18 (64 px), B = 32, T = 4:
  * median training-step time without a topographic loss and with STC (two cluster settings),
    their ratio, and the loss's own share of the step;
  * the vectorised STC loss against the plainly written reference (speed-up, agreement);
  * peak memory of two training steps (RSS above the loaded model, or CUDA allocations)
    with and without STC.

    python bench/train_step.py [--repeats 5] [--threads 2] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "core"))

from tdsnn_core.config import TopographyConfig
from tdsnn_core.losses import gather_clusters, inverse_distance_targets, rate_term, timing_term
from tdsnn_core.losses.objective import TopographicObjective
from tdsnn_core.models import create_model
from tdsnn_core.training.sheets_setup import initial_sheets

MODELS = {"sresnet_mini": {}, "sresnet18": {"input_size": 64, "num_classes": 10}}
VARIANTS = {
    "none": TopographyConfig(kind="none"),
    "stc M=4 n=128": TopographyConfig(kind="stc", clusters_per_layer=4, cluster_size=128),
    "stc M=10 n=256": TopographyConfig(kind="stc", clusters_per_layer=10, cluster_size=256),
}
BATCH = 32


class Stepper:
    """One model + optimizer + objective; ``step()`` runs a full training step."""

    def __init__(
        self,
        model_name: str,
        variant: str,
        device: str = "cpu",
        options: dict | None = None,
        batch: int = BATCH,
    ) -> None:
        torch.manual_seed(0)
        self.device = torch.device(device)
        options = MODELS[model_name] if options is None else options
        self.model = create_model(model_name, **options).train().to(self.device)
        spec = self.model.config
        size = spec["input_size"]
        self.images = torch.rand(batch, spec["in_channels"], size, size, device=self.device)
        self.labels = torch.randint(0, spec["num_classes"], (batch,), device=self.device)
        cfg = VARIANTS[variant]
        self.objective = TopographicObjective(cfg, initial_sheets(self.model, cfg), self.device)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=1e-4)

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize()

    def step(self) -> float:
        """Seconds for one full training step (forward, task + topographic loss, backward)."""
        start = time.perf_counter()
        out = self.model(self.images, return_spikes=self.objective.needs_spikes)
        logits = out.logits if self.objective.needs_spikes else out
        total = F.cross_entropy(logits, self.labels) + self.objective(self.model, out).total
        self.optimizer.zero_grad()
        total.backward()
        self.optimizer.step()
        self._sync()
        return time.perf_counter() - start

    def loss_time(self) -> float:
        """Seconds for the topographic loss alone (forward + backward to the spikes)."""
        if not self.objective.needs_spikes:
            return 0.0
        with torch.no_grad():
            out = self.model(self.images, return_spikes=True)
        spikes = {k: v.requires_grad_() for k, v in out.spikes.items()}
        self._sync()
        start = time.perf_counter()
        self.objective(self.model, out._replace(spikes=spikes)).total.backward()
        self._sync()
        return time.perf_counter() - start


def time_steps(repeats: int, device: str) -> None:
    where = (
        torch.cuda.get_device_name() if device == "cuda" else f"{torch.get_num_threads()} threads"
    )
    print(
        f"\n== training step, B = {BATCH}, T = 4, {where} "
        f"(median of {repeats}, variants interleaved) =="
    )
    for model_name in MODELS:
        steppers = {v: Stepper(model_name, v, device) for v in VARIANTS}
        for s in steppers.values():
            s.step()  # warm-up
        times: dict[str, list[float]] = {v: [] for v in VARIANTS}
        loss_times: dict[str, list[float]] = {v: [] for v in VARIANTS}
        for _ in range(repeats):
            for variant, stepper in steppers.items():
                times[variant].append(stepper.step())
                loss_times[variant].append(stepper.loss_time())
        base = statistics.median(times["none"])
        for variant, samples in times.items():
            step = statistics.median(samples)
            share = statistics.median(loss_times[variant]) / step
            print(
                f"{model_name:13s} {variant:15s} step {step:6.3f} s  ratio {step / base:5.2f}"
                f"  loss share {100 * share:4.1f} %"
            )


def reference_speedup() -> None:
    import reference_losses as ref

    rng = np.random.default_rng(0)
    steps, batch, n, window = 4, 8, 24, 1
    spikes = (rng.uniform(size=(steps, batch, n)) < 0.3).astype(np.float64)
    positions = rng.uniform(0, 5, size=(n, 2))
    t0 = time.perf_counter()
    expected = ref.rate_loss(spikes, positions) + ref.timing_loss(spikes, positions, window)
    t_ref = time.perf_counter() - t0
    s = torch.from_numpy(spikes)
    clusters = torch.arange(n).unsqueeze(0)
    t0 = time.perf_counter()
    reps = 50
    for _ in range(reps):
        clustered = gather_clusters(s, clusters)
        target = inverse_distance_targets(torch.from_numpy(positions)[clusters])
        got = rate_term(clustered.mean(1), target) + timing_term(clustered, target, window)
    t_vec = (time.perf_counter() - t0) / reps
    print(f"\n== STC loss, one cluster of n = {n}, B = {batch}, T = {steps}, W = {window} ==")
    print(
        f"reference {1e3 * t_ref:8.1f} ms   vectorised {1e3 * t_vec:6.2f} ms   "
        f"speed-up {t_ref / t_vec:7.0f}x   |difference| {abs(got.item() - expected):.1e}"
    )


def resident_mb(field: str) -> float:
    """A /proc/self/status memory field (VmRSS, VmHWM) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def peak_memory(device: str) -> None:
    what = "peak CUDA memory allocated" if device == "cuda" else "peak RSS above the loaded model"
    print(f"\n== peak memory ({what} of a fresh process, 2 training steps) ==")
    for model_name in MODELS:
        rss = {}
        for variant in ("none", "stc M=10 n=256"):
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--device",
                    device,
                    "--size",
                    str(MODELS["sresnet18"]["input_size"]),
                    "--child",
                    model_name,
                    variant,
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            rss[variant] = json.loads(out.stdout.strip().splitlines()[-1])["peak_mb"]
        print(
            f"{model_name:13s} none {rss['none']:7.0f} MB   stc M=10 n=256 "
            f"{rss['stc M=10 n=256']:7.0f} MB   ratio {rss['stc M=10 n=256'] / rss['none']:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--size", type=int, default=64, help="sresnet18 input size")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    MODELS["sresnet18"]["input_size"] = args.size
    if args.child:
        stepper = Stepper(*args.child, args.device)
        baseline = resident_mb("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")  # restart the peak (VmHWM) from here
        for _ in range(2):
            stepper.step()
        if args.device == "cuda":
            peak = torch.cuda.max_memory_allocated() / 2**20
        else:
            peak = resident_mb("VmHWM") - baseline
        print(json.dumps({"peak_mb": peak}))
        return
    time_steps(args.repeats, args.device)
    reference_speedup()
    peak_memory(args.device)


if __name__ == "__main__":
    main()
