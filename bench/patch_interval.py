"""Coverage of the patch-count interval on planted category maps at the probe set's scale.

    python bench/patch_interval.py [--sets 30] [--truth 60]

2,048 units on a 70 mm sheet, five categories with the validation probes' source counts (20,
385, 323, 5 and 380), unit noise plus planted discs per category, in five layouts (discs and
effect size) chosen so that some counts vary across probe sets. The truth is each category's
median patch count over ``--truth`` independent probe sets. For ``--sets`` probe sets it
prints how often the interval of ``CategoryMaps.patch_interval`` (rescaled half-samples)
covers it, and, for comparison, the delete-a-group jackknife of the count (the interval of
the other IT statistics), with the intervals' widths. Then the paired difference of two
models on the same probe sets (``CategoryMaps.patch_count_difference``): the "few" layout at
effect 0.3 against the same responses with the discs at 0.38, each probe set's difference
scored against the median difference over the independent sets.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from tdsnn_core.analysis.category import (
    half_sample_t_values,
    jackknife_groups,
    leave_out_t_values,
    patch_counts,
    welch_t_by_category,
)
from tdsnn_core.analysis.intervals import Jackknife, count_interval

SOURCES = [20, 385, 323, 5, 380]
LABELS = np.repeat(np.arange(5), SOURCES)
POSITIONS = np.random.default_rng(0).uniform(0, 70.0, (2048, 2))
FEW = [(20, 20, 11, 0, 1.5), (50, 20, 8, 1, 1), (50, 42, 6, 1, 1), (20, 50, 10, 2, 1),
       (45, 55, 14, 3, 2.5), (60, 60, 7, 4, 1), (10, 35, 5, 4, 1)]  # fmt: skip
_many = np.random.default_rng(7)  # six discs each for characters and objects
MANY = [(20, 20, 11, 0, 1.5)] + [
    (*_many.uniform(8, 62, 2), _many.uniform(5, 8), category, 1)
    for category in (2, 4)
    for _ in range(6)
]
LAYOUTS = [("few", FEW, 0.2), ("few", FEW, 0.3), ("few", FEW, 0.5), ("many", MANY, 0.2),
           ("many", MANY, 0.35)]  # fmt: skip


def draw(discs: list, effect: float, seed: int) -> np.ndarray:
    """One probe set's per-source responses [n_sources, units]: noise plus each disc's
    ``effect`` (times its weight) for its category."""
    rng = np.random.default_rng(seed)
    responses = rng.normal(size=(len(LABELS), len(POSITIONS)))
    for x, y, radius, category, weight in discs:
        inside = np.hypot(POSITIONS[:, 0] - x, POSITIONS[:, 1] - y) < radius
        responses[np.ix_(np.equal(LABELS, category), inside)] += effect * weight
    return responses


def counts(responses: np.ndarray) -> np.ndarray:
    t = np.stack(list(welch_t_by_category(responses, LABELS).values()))
    return patch_counts(POSITIONS, t)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=30, help="probe sets whose interval is scored")
    parser.add_argument("--truth", type=int, default=60, help="independent sets for the truth")
    args = parser.parse_args()
    covered = {"half-samples": [0, 0], "jackknife": [0, 0]}  # [covered, scored] where counts vary
    widths: dict[str, list[float]] = {name: [] for name in covered}
    total = [0, 0]
    for name, discs, effect in LAYOUTS:
        start = time.perf_counter()
        truth = np.array([counts(draw(discs, effect, 1000 + s)) for s in range(args.truth)])
        median, varies = np.median(truth, axis=0), truth.min(axis=0) < truth.max(axis=0)
        hits = np.zeros((2, 5), dtype=int)
        for seed in range(args.sets):
            responses = draw(discs, effect, seed)
            observed = counts(responses)
            halves = patch_counts(POSITIONS, half_sample_t_values(responses, LABELS, seed=seed))
            groups = jackknife_groups(len(LABELS), seed=seed)
            leave_outs = patch_counts(POSITIONS, leave_out_t_values(responses, LABELS, groups))
            for k, count in enumerate(observed):
                intervals = (
                    count_interval(int(count), halves[:, k]),
                    Jackknife(float(count), leave_outs[:, k].astype(float)).interval(),
                )
                for row, (method, interval) in enumerate(zip(covered, intervals, strict=True)):
                    hits[row, k] += interval.low <= median[k] <= interval.high
                    widths[method].append(interval.high - interval.low)
        total[0] += hits[0].sum()
        total[1] += hits[0].size * args.sets
        for row, method in enumerate(covered):
            covered[method][0] += hits[row, varies].sum()
            covered[method][1] += varies.sum() * args.sets
        spread = [np.bincount(truth[:, k]).tolist() for k in range(5)]
        print(
            f"{name} discs, effect {effect}: counts over {args.truth} sets (how many 0, 1, ...) "
            f"{spread}; covered of {args.sets}: half-samples {hits[0].tolist()}, jackknife "
            f"{hits[1].tolist()} ({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
    print(f"half-samples: {total[0]} of {total[1]} category-sets covered", end="")
    for method, (hit, scored) in covered.items():
        width = np.array(widths[method])
        print(
            f"; {method}: {hit} of {scored} where the count varies, widths mean "
            f"{width.mean():.2f}, single count {np.mean(width == 0):.0%}, max {width.max():.1f}",
            end="",
        )
    print()
    paired(args.sets, args.truth)


def paired(n_sets: int, n_truth: int, weaker: float = 0.3, stronger: float = 0.38) -> None:
    """Coverage of the paired count difference (stronger minus weaker model, same noise)."""
    start = time.perf_counter()
    truth = np.array(
        [
            counts(draw(FEW, stronger, s)) - counts(draw(FEW, weaker, s))
            for s in range(1000, 1000 + n_truth)
        ]
    )
    median, varies = np.median(truth, axis=0), truth.min(axis=0) < truth.max(axis=0)
    hits, widths = np.zeros(5, dtype=int), []
    for seed in range(n_sets):
        models = [draw(FEW, effect, seed) for effect in (weaker, stronger)]
        halves = [
            patch_counts(POSITIONS, half_sample_t_values(r, LABELS, seed=seed)) for r in models
        ]
        observed = counts(models[1]) - counts(models[0])
        for k in range(5):
            interval = count_interval(
                int(observed[k]), halves[1][:, k] - halves[0][:, k], at_least=None
            )
            hits[k] += interval.low <= median[k] <= interval.high
            widths.append(interval.high - interval.low)
    spread = [sorted(set(truth[:, k].tolist())) for k in range(5)]
    print(
        f"paired, discs at {stronger} minus at {weaker}: differences over {n_truth} sets {spread}; "
        f"covered of {n_sets}: {hits.tolist()} ({hits[varies].sum()} of {varies.sum() * n_sets} "
        f"where the difference varies); widths mean {np.mean(widths):.2f}, max {max(widths):.0f} "
        f"({time.perf_counter() - start:.0f} s)"
    )


if __name__ == "__main__":
    main()
