"""Training-step time of the model zoo against SResNet18 at equal input size, side by side.

Two groups, each at one input size: the full-size models (spikformer, cornet_rt vs sresnet18;
--size px colour images) and the small ones (spikformer_mini, cornet_rt_mini vs sresnet_mini;
28 px grey). Every model runs its own default T (CORnet-RT: 10, the others: 4), without a
topographic loss and with STC (M = 4 clusters of n = 128). Steps of all models are interleaved;
the median of --repeats steps is printed with its ratio to the SResNet of the same group and
loss, the ratio per timestep, and STC's cost over no topographic loss.

    python bench/model_zoo.py [--repeats 3] [--threads 2] [--device cpu|cuda] [--size 64]
"""

from __future__ import annotations

import argparse
import statistics

import torch
from train_step import Stepper

VARIANTS = ("none", "stc M=4 n=128")


def groups(size: int) -> dict[str, dict[str, dict]]:
    full = {"input_size": size, "num_classes": 10}
    return {
        f"full size, {size} px": {"sresnet18": full, "spikformer": full, "cornet_rt": full},
        "small, 28 px": {"sresnet_mini": {}, "spikformer_mini": {}, "cornet_rt_mini": {}},
    }


def time_group(models: dict[str, dict], repeats: int, device: str, batch: int) -> None:
    steppers = {
        (name, variant): Stepper(name, variant, device, options, batch)
        for name, options in models.items()
        for variant in VARIANTS
    }
    for stepper in steppers.values():
        stepper.step()  # warm-up
    times: dict[tuple[str, str], list[float]] = {key: [] for key in steppers}
    for _ in range(repeats):
        for key, stepper in steppers.items():
            times[key].append(stepper.step())
    median = {key: statistics.median(samples) for key, samples in times.items()}
    base = next(iter(models))
    base_steps = steppers[base, VARIANTS[0]].model.timesteps
    for (name, variant), step in median.items():
        steps = steppers[name, variant].model.timesteps
        ratio = step / median[base, variant]
        print(
            f"{name:16s} T={steps:<3d} {variant:14s} step {step:7.3f} s   vs {base} {ratio:5.2f}x"
            f"   per timestep {ratio * base_steps / steps:5.2f}x"
            f"   STC/none {step / median[name, VARIANTS[0]]:5.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--size", type=int, default=64, help="input size of the full-size models")
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    where = torch.cuda.get_device_name() if args.device == "cuda" else f"{args.threads} threads"
    for title, models in groups(args.size).items():
        print(
            f"\n== training step, {title}, B = {args.batch}, {where} "
            f"(median of {args.repeats}, models interleaved) =="
        )
        time_group(models, args.repeats, args.device, args.batch)


if __name__ == "__main__":
    main()
