"""Training-step cost of the STC loss, measured side by side in one run (CPU or CUDA).

Prints, for the small model (28 px) and SResNet18 (64 px), B = 32, T = 4:
  * median training-step time without a topographic loss and with STC (two cluster settings),
    their ratio, the loss's own share of the step, its matrix-product FLOPs (in the forms the
    loss picks) and the fraction of the machine's matmul throughput (a large matmul, timed in
    the same run) that the loss achieves;
  * on CUDA (or with --spikingjelly) spikingjelly's own spiking_resnet18 step beside ours;
  * the vectorised STC loss, in both Pearson forms, against the plainly written reference
    (speed-up, agreement);
  * peak memory of two training steps (RSS above the loaded model, or CUDA allocations)
    with and without STC.

    python bench/train_step.py [--repeats 5] [--threads 2] [--device cpu|cuda] [--spikingjelly]
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
from tdsnn_core.losses import Clusters, gather_clusters, inverse_distance_targets
from tdsnn_core.losses.correlation import cheaper_form, pearson_cost
from tdsnn_core.losses.objective import TopographicObjective
from tdsnn_core.losses.stc import clustered_batches, default_window, rate_term, timing_term
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

    def loss_flops(self) -> int:
        """Matrix-product FLOPs (forward and backward) of one step's topographic loss, in the
        Pearson forms it picks."""
        cfg = self.objective.config
        if cfg.kind != "stc":
            return 0
        with torch.no_grad():
            spikes = self.model(self.images, return_spikes=True).spikes
        batches = clustered_batches(
            spikes,
            self.objective.positions,
            self.objective.widths,
            cfg.cluster_size,
            cfg.clusters_per_layer,
            None,
            2,
        )
        flops = 0
        for batch in batches:
            clusters, steps, size, n = batch.values.shape
            for t in (1, steps):  # L_L on rates, L_S on spikes
                form = cheaper_form(n, t, size)
                flops += 2 * clusters * pearson_cost(form, n, t, size, elementwise=0, wide=1)
        return flops

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


def matmul_flops_per_s(device: str, size: int = 1024, repeats: int = 5) -> float:
    """The machine's float32 matmul throughput: the best of ``repeats`` size^3 products."""
    a = torch.rand(size, size, device=device)
    best = float("inf")
    for _ in range(repeats + 1):  # one warm-up
        start = time.perf_counter()
        (a @ a).sum().item()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def time_steps(repeats: int, device: str) -> None:
    where = (
        torch.cuda.get_device_name() if device == "cuda" else f"{torch.get_num_threads()} threads"
    )
    machine = matmul_flops_per_s(device)
    print(
        f"\n== training step, B = {BATCH}, T = 4, {where} "
        f"(median of {repeats}, variants interleaved); matmul {machine / 1e9:.1f} GFLOP/s =="
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
            loss = statistics.median(loss_times[variant])
            flops = steppers[variant].loss_flops()
            achieved = f"{100 * flops / loss / machine:5.1f} %" if loss else "    -"
            print(
                f"{model_name:13s} {variant:15s} step {step:6.3f} s  ratio {step / base:5.2f}"
                f"  loss share {100 * loss / step:4.1f} %  loss {flops / 1e9:5.2f} GFLOP"
                f"  of matmul peak {achieved}"
            )


def spikingjelly_steps(repeats: int, device: str) -> None:
    """spikingjelly's own multi-step spiking_resnet18 (LIF, ATan) beside ours, no topographic
    loss, at the sresnet18 bench size."""
    from spikingjelly.activation_based import functional, neuron, surrogate
    from spikingjelly.activation_based.model import spiking_resnet

    torch.manual_seed(0)
    size, steps = MODELS["sresnet18"]["input_size"], 4
    theirs = spiking_resnet.spiking_resnet18(
        spiking_neuron=neuron.LIFNode,
        surrogate_function=surrogate.ATan(),
        detach_reset=True,
        num_classes=10,
    )
    functional.set_step_mode(theirs, "m")
    theirs = theirs.train().to(device)
    optimizer = torch.optim.AdamW(theirs.parameters(), lr=1e-4)
    images = torch.rand(BATCH, 3, size, size, device=device)
    labels = torch.randint(0, 10, (BATCH,), device=device)
    ours = Stepper("sresnet18", "none", device)

    def their_step() -> float:
        start = time.perf_counter()
        functional.reset_net(theirs)
        logits = theirs(images.unsqueeze(0).repeat(steps, 1, 1, 1, 1)).mean(0)
        optimizer.zero_grad()
        F.cross_entropy(logits, labels).backward()
        optimizer.step()
        if device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    their_step(), ours.step()  # warm-up
    mine, other = [], []
    for _ in range(repeats):
        mine.append(ours.step())
        other.append(their_step())
    a, b = statistics.median(mine), statistics.median(other)
    print(f"\n== sresnet18 {size} px vs spikingjelly spiking_resnet18, B = {BATCH}, T = {steps} ==")
    print(f"ours {a:6.3f} s   spikingjelly {b:6.3f} s   ratio {a / b:5.2f}")


def reference_speedup() -> None:
    import reference_losses as ref

    rng = np.random.default_rng(0)
    steps, batch, n, window = 4, 8, 24, default_window(4)
    spikes = (rng.uniform(size=(steps, batch, n)) < 0.3).astype(np.float64)
    positions = rng.uniform(0, 5, size=(n, 2))
    t0 = time.perf_counter()
    expected = ref.rate_loss(spikes, positions) + ref.timing_loss(spikes, positions, window)
    t_ref = time.perf_counter() - t0
    s = torch.from_numpy(spikes)
    clusters = Clusters(torch.arange(n).unsqueeze(0), torch.ones(1, n, dtype=torch.bool))
    print(f"\n== STC loss, one cluster of n = {n}, B = {batch}, T = {steps}, W = {window} ==")
    reps = 50
    for form in ("pairs", "gram"):
        t0 = time.perf_counter()
        for _ in range(reps):
            clustered = gather_clusters(s, clusters)
            target = inverse_distance_targets(torch.from_numpy(positions)[clusters.indices])
            got = rate_term(clustered.mean(1), target, clusters.mask, form=form) + timing_term(
                clustered, target, clusters.mask, window, form=form
            )
        t_vec = (time.perf_counter() - t0) / reps
        print(
            f"reference {1e3 * t_ref:8.1f} ms   {form:5s} form {1e3 * t_vec:6.2f} ms   "
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
    parser.add_argument(
        "--spikingjelly", action="store_true", help="compare with spikingjelly (on with cuda)"
    )
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
    if args.spikingjelly or args.device == "cuda":
        spikingjelly_steps(args.repeats, args.device)
    reference_speedup()
    peak_memory(args.device)


if __name__ == "__main__":
    main()
