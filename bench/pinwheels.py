"""Pinwheel counts on band-limited random maps of known count, new detector vs the old one.

    python bench/pinwheels.py [--seeds N] [--shuffles N]

Per unit count (784, 20,000, 100,000 on a 36.75 mm sheet), column spacing (2, 3.5 mm) and
per-unit orientation noise (0, 12, 20 degrees): the true count (zeros of the exact field),
the new detector's count, recovery, measured Lambda, density per Lambda^2 (pi expected),
time, and its shuffle null (the largest count over the shuffles and the fraction of
shuffles that were resolvable); then the old detector (``git show HEAD:...pinwheels.py``,
fixed 3.5 mm hypercolumn) on the same map and on one shuffle of it.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tdsnn_core.analysis.pinwheels import detect_pinwheels, shuffled_pinwheel_null
from tdsnn_core.analysis.synthetic_maps import BandLimitedMap, uniform_positions

SHEET_EDGE_MM = 36.75
OLD_SOURCE = "HEAD:tdsnn_core/analysis/pinwheels.py"


def load_old_detector(folder: Path):
    """The committed detector, loaded as a module of its own."""
    source = subprocess.run(
        ["git", "show", OLD_SOURCE], capture_output=True, text=True, check=True
    ).stdout
    path = folder / "old_pinwheels.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("old_pinwheels", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_pinwheels"] = module
    spec.loader.exec_module(module)
    return module.detect_pinwheels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="maps per setting")
    parser.add_argument("--shuffles", type=int, default=20)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        old_detect = load_old_detector(Path(folder))
        print(
            f"{'units':>7} {'Lambda':>6} {'noise':>5} | {'true':>5} {'found':>5} {'recov':>6} "
            f"{'Lambda^':>7} {'dens':>5} {'time':>5} {'null max':>8} {'null res':>8} | "
            f"{'old':>5} {'old rec':>7} {'old dens':>8} {'old shuf':>8}"
        )
        for n_units in (784, 20_000, 100_000):
            for spacing in (2.0, 3.5):
                for noise in (0.0, 12.0, 20.0):
                    rows = []
                    for seed in range(args.seeds):
                        band_map = BandLimitedMap.random(spacing, SHEET_EDGE_MM, seed=seed)
                        positions = uniform_positions(n_units, SHEET_EDGE_MM, seed=100 + seed)
                        scatter = np.random.default_rng(seed).normal(0, noise, n_units)
                        orientations = band_map.orientation_deg(positions) + scatter
                        start = time.perf_counter()
                        new = detect_pinwheels(  # the count and its time; no interval
                            positions, orientations, sheet_edge_mm=SHEET_EDGE_MM, interval_maps=0
                        )
                        seconds = time.perf_counter() - start
                        null = shuffled_pinwheel_null(
                            positions,
                            orientations,
                            n_shuffles=args.shuffles,
                            seed=seed,
                            sheet_edge_mm=SHEET_EDGE_MM,
                        )
                        old = old_detect(positions, orientations, sheet_edge_mm=SHEET_EDGE_MM)
                        shuffled = np.random.default_rng(seed).permutation(orientations)
                        old_shuffled = old_detect(positions, shuffled, sheet_edge_mm=SHEET_EDGE_MM)
                        rows.append(
                            (
                                band_map.pinwheel_count(),
                                new.count,
                                new.column_spacing_mm,
                                new.density,
                                seconds,
                                null.counts.max(),
                                null.resolvable_fraction,
                                old.count,
                                old.density,
                                old_shuffled.count,
                                new.reason,
                            )
                        )
                    true, found = sum(r[0] for r in rows), sum(r[1] for r in rows)
                    old_found = sum(r[7] for r in rows)
                    resolvable = all(r[10] is None for r in rows)
                    recovery = f"{100 * found / true:5.1f}%" if resolvable else "  n.r."
                    print(
                        f"{n_units:>7} {spacing:>6.1f} {noise:>5.0f} | {true:>5} {found:>5} "
                        f"{recovery:>6} {np.mean([r[2] for r in rows]):>7.3f} "
                        f"{np.mean([r[3] for r in rows]):>5.2f} "
                        f"{np.mean([r[4] for r in rows]):>5.2f} "
                        f"{max(r[5] for r in rows):>8} {np.mean([r[6] for r in rows]):>8.2f} | "
                        f"{old_found:>5} {100 * old_found / true:>6.1f}% "
                        f"{np.mean([r[8] for r in rows]):>8.2f} "
                        f"{sum(r[9] for r in rows):>8}"
                    )
                    if not resolvable:
                        print(f"{'':>22}not resolvable: {rows[0][10]}")


if __name__ == "__main__":
    main()
