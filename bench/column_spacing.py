"""Column spacing Lambda on maps of known Lambda: the estimator's error and its interval's coverage.

    python bench/column_spacing.py [--maps 8]

Units at the default V1's positions (models/positions/categories.safetensors, layer2.0:
16,384 units on a 36.75 mm sheet), 30 degrees of per-unit scatter (neighbour coherence
about 0.33, the default model's). Two parts:

1. The estimator, without and with the change of this release, on band-limited maps (a ring
   of no width) of Lambda 5.6 to 7.0 mm: the earlier centroid of the half-maximum lobe
   against the kernel mode (``map_spectrum``).
2. The interval (``column_spacing_interval``) on ``--maps`` maps per setting: band-limited
   maps and maps whose spectral ring has a width of 8, 14 and 20 % of its wavenumber
   (``ring_spectrum_orientations``; the default model's peak is as wide as about 10 %), and
   lopsided rings, wider inside than outside (8 / 12 %, 10 / 16 % and 6 / 16 %) or outside
   (16 / 6 %), at Lambda 5.8, 6.3 and 6.8 mm. The truth is what the interval is for: the
   mode of the map's expected spectrum (of exp(2i theta), whose peak lies about 1 % off the
   generating ring, more for lopsided ones), read with the estimator's kernel from the mean
   spectrum of the setting's maps and ``TRUTH_MAPS`` more.
   Printed: how often the interval covers it, its mean width, and the spread of the
   estimates across the maps beside the interval's own spread (half-width / 1.96).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from tdsnn_core.analysis.pinwheels import (
    _SpectrumGrid,
    _unit_spacing,
    column_spacing_interval,
    expected_column_spacing,
    map_spectrum,
)
from tdsnn_core.analysis.synthetic_maps import BandLimitedMap, ring_spectrum_orientations
from tdsnn_core.sheets.sheet import load_sheets

POSITIONS = Path(__file__).resolve().parents[1] / "models" / "positions" / "categories.safetensors"
V1_LAYER = "layer2.0"
SCATTER_RAD = np.deg2rad(30.0)
# Ring widths (outer, and inner where lopsided) as fractions of the ring's wavenumber.
TRUTH_MAPS = 32  # more maps of each setting, for its mean spectrum only
SETTINGS = [
    (0.0, None), (0.08, None), (0.14, None), (0.2, None), (0.08, 0.12), (0.1, 0.16), (0.06, 0.16),
    (0.16, 0.06),
]  # fmt: skip


def lobe_centroid(spectrum, grid: _SpectrumGrid) -> float:
    """The earlier estimator: the centroid of the rings of the peak's half-maximum lobe."""
    first, excess = 4, spectrum.power - 1
    peak = first + int(np.argmax(spectrum.power[first : grid.last + 1]))
    start, end = peak, peak + 1
    while start > first and excess[start - 1] > excess[peak] / 2:
        start -= 1
    while end <= grid.last and excess[end] > excess[peak] / 2:
        end += 1
    weights = excess[start:end] * grid.n_modes[start:end]
    return 2 * np.pi * np.sum(weights) / np.sum(weights * grid.wavenumbers[start:end])


def true_map(positions, spacing, relative_width, edge, rng, inner=None) -> np.ndarray:
    """A map of known Lambda: band-limited (width 0) or a ring of ``relative_width`` x its
    wavenumber (``inner`` x the wavenumber inside it, when lopsided)."""
    if relative_width == 0:
        band = BandLimitedMap.random(spacing, edge, seed=int(rng.integers(2**31)))
        scatter = rng.normal(0, SCATTER_RAD, len(positions))
        return (band.orientation_deg(positions) + np.rad2deg(scatter)) % 180
    k0 = 2 * np.pi / spacing
    return ring_spectrum_orientations(
        positions, spacing, relative_width * k0,
        inner_width_per_mm=None if inner is None else inner * k0,
        scatter_rad=SCATTER_RAD, rng=rng,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--maps", type=int, default=8, help="maps per setting of part 2")
    args = parser.parse_args()
    sheet = load_sheets(POSITIONS)[V1_LAYER]
    positions, edge = sheet.positions, sheet.size_mm
    spacing_mm = _unit_spacing(edge**2, len(positions))
    grid = _SpectrumGrid(positions, spacing_mm)
    rng = np.random.default_rng(0)
    print(f"{len(positions):,} units on a {edge} mm sheet ({V1_LAYER}), 30 degrees of scatter")

    print(
        "\n1. estimator error (mm) against the generating ring's Lambda, band-limited maps, "
        "4 per Lambda (a phase map's own spectral peak lies about 1 % above its ring)"
    )
    print(f"{'Lambda':>6} | {'lobe centroid (before)':>28} | {'kernel mode (after)':>28}")
    errors: dict[str, list[float]] = {"before": [], "after": []}
    for spacing in np.arange(5.6, 7.01, 0.1):
        row = {"before": [], "after": []}
        for _ in range(4):
            orientations = true_map(positions, spacing, 0.0, edge, rng)
            spectrum = map_spectrum(positions, orientations, spacing_mm=spacing_mm, grid=grid)
            row["before"].append(lobe_centroid(spectrum, grid) - spacing)
            row["after"].append(spectrum.column_spacing_mm - spacing)
        for key in row:
            errors[key] += row[key]
        cells = [" ".join(f"{e:+.2f}" for e in row[key]) for key in ("before", "after")]
        print(f"{spacing:6.1f} | {cells[0]:>28} | {cells[1]:>28}")
    for key, values in errors.items():
        values = np.array(values)
        print(
            f"{key}: {values.min():+.3f} to {values.max():+.3f} mm, "
            f"RMS {np.sqrt(np.mean(values**2)):.3f} mm"
        )

    print(
        f"\n2. the 95 % interval, {args.maps} maps per setting; truth: Lambda at the mode of "
        f"the mean spectrum of {args.maps + TRUTH_MAPS} maps of the setting (ring: the "
        "generating ring's Lambda)"
    )
    print(
        f"{'ring width':>10} {'ring':>5} {'truth':>6} | {'covered':>7} {'width':>6} "
        f"{'spread':>6} {'interval sd':>11} {'mean error':>10} {'s / map':>7}"
    )
    covered = total = 0
    for relative_width, inner in SETTINGS:
        for spacing in (5.8, 6.3, 6.8):
            spectra = [
                map_spectrum(
                    positions,
                    true_map(positions, spacing, relative_width, edge, rng, inner),
                    spacing_mm=spacing_mm,
                    grid=grid,
                )
                for _ in range(args.maps + TRUTH_MAPS)
            ]
            truth = expected_column_spacing(spectra, grid.last)
            estimates, widths, sds, hits = [], [], [], 0
            started = time.perf_counter()
            for m, spectrum in enumerate(spectra[: args.maps]):
                interval = column_spacing_interval(positions, spectrum, edge**2, seed=m)
                estimates.append(spectrum.column_spacing_mm)
                if interval is None:
                    continue
                hits += interval.low <= truth <= interval.high
                widths.append(interval.high - interval.low)
                sds.append((interval.high - interval.low) / (2 * 1.96))
            seconds = (time.perf_counter() - started) / args.maps
            covered, total = covered + hits, total + args.maps
            width = f"{relative_width:.2f}" + (f"/{inner:.2f}" if inner else "")
            print(
                f"{width:>10} {spacing:5.1f} {truth:6.3f} | {hits:>3}/{args.maps:<3} "
                f"{np.mean(widths):6.3f} {np.std(estimates, ddof=1):6.3f} "
                f"{np.mean(sds):11.3f} {np.mean(estimates) - truth:+10.3f} {seconds:7.2f}"
            )
    print(f"\ncovered {covered} of {total} ({100 * covered / total:.0f} %)")


if __name__ == "__main__":
    main()
