"""Orientation diversity's intervals on maps whose histogram and circular variance are known.

    python bench/orientation_diversity.py [--maps 40]

A quarter of the default V1's positions (4,096 of layer2.0's 16,384 units, at random, as the
analysed top-25 % are), a map with a spectral ring at Lambda 6.2 mm (10 % wide, the default
model's; ``ring_spectrum_orientations``), whose population of preferences is uniform, warped
on the doubled angle, phi -> phi - a sin(phi), and given per-unit Gaussian scatter s. Both
truths are analytic: the population's |E exp(2i theta)| is J_1(a) exp(-2 s^2) (Bessel), and
each 22.5-degree bin's fraction is an integral over the warp. ``orientation_diversity`` with
the report's tiles (6.6 mm) gives each map's intervals; printed per (a, s): how often the
circular variance's interval covers the truth beside how often a percentile bootstrap of the
plug-in estimate over the same tiles would, the mean bias of the plug-in, and how often the
bins' intervals cover theirs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.special import j1
from scipy.stats import norm

from tdsnn_core.analysis.intervals import draw_counts, resample, tile_count, tile_of
from tdsnn_core.analysis.synthetic_maps import ring_spectrum_orientations
from tdsnn_core.analysis.tuning import DIVERSITY_BIN_WIDTH_DEG, orientation_diversity
from tdsnn_core.sheets.sheet import load_sheets

POSITIONS = Path(__file__).resolve().parents[1] / "models" / "positions" / "categories.safetensors"
SPACING_MM, RING_WIDTH, TILE_MM, UNITS = 6.2, 0.1, 6.6, 4096
SETTINGS = [(a, s) for s in (10.0, 30.0) for a in (0.0, 0.5, 1.0, 1.8)]


def warped(orientation_deg: np.ndarray, a: float) -> np.ndarray:
    """phi -> phi - a sin(phi) on the doubled angle phi = 2 theta."""
    phi = np.deg2rad(2 * orientation_deg)
    return np.rad2deg(phi - a * np.sin(phi)) / 2


def true_fractions(a: float, scatter_deg: float) -> np.ndarray:
    """Each bin's population fraction: uniform theta, warped, plus N(0, s^2), mod 180."""
    theta = (np.arange(20_000) + 0.5) * 180 / 20_000
    centre = warped(theta, a)
    edges = DIVERSITY_BIN_WIDTH_DEG * (np.arange(9) - 0.5)
    fractions = np.zeros(8)
    for wrap in range(-3, 4):
        cdf = norm.cdf((edges[None, :] + 180 * wrap - centre[:, None]) / scatter_deg)
        fractions += np.diff(cdf, axis=1).mean(0)
    return fractions


def plug_in_interval(
    orientation_deg: np.ndarray, positions: np.ndarray, edge: float
) -> tuple[float, float]:
    """The naive alternative: percentiles of the plug-in circular variance over tile draws."""
    n_tiles = tile_count(edge, TILE_MM)
    tiles = tile_of(positions, edge, TILE_MM)
    z = np.exp(2j * np.deg2rad(orientation_deg))
    sums = np.bincount(tiles, z.real, n_tiles) + 1j * np.bincount(tiles, z.imag, n_tiles)
    weights = draw_counts(resample(n_tiles, 2000, seed=0), n_tiles)
    counts = weights @ np.bincount(tiles, minlength=n_tiles)
    variance = 1 - np.abs(weights @ sums) / counts
    return tuple(np.percentile(variance, [2.5, 97.5]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--maps", type=int, default=40, help="maps per setting")
    args = parser.parse_args()
    sheet = load_sheets(POSITIONS)["layer2.0"]
    edge, rng = sheet.size_mm, np.random.default_rng(0)
    k0 = 2 * np.pi / SPACING_MM
    print(
        f"{UNITS:,} of {len(sheet.positions):,} units, {edge} mm sheet, Lambda {SPACING_MM} mm, "
        f"{args.maps} maps per setting, tiles {TILE_MM} mm; 95 % intervals"
    )
    print(
        f"{'a':>4} {'s':>4} | {'true CV':>7} {'plug-in bias':>12} | {'CV covered':>10} "
        f"{'width':>6} | {'plug-in bootstrap':>17} | {'bins covered':>12}"
    )
    totals = np.zeros(3, dtype=int)
    for a, scatter_deg in SETTINGS:
        truth = 1 - j1(a) * np.exp(-2 * np.deg2rad(scatter_deg) ** 2)
        fractions = true_fractions(a, scatter_deg)
        hits, naive_hits, bin_hits, biases, widths = 0, 0, 0, [], []
        for _ in range(args.maps):
            positions = sheet.positions[rng.choice(len(sheet.positions), UNITS, replace=False)]
            base = ring_spectrum_orientations(positions, SPACING_MM, RING_WIDTH * k0, rng=rng)
            noise = rng.normal(0, scatter_deg, UNITS)
            orientations = (warped(base, a) + noise) % 180
            found = orientation_diversity(
                orientations, positions, sheet_edge_mm=edge, tile_mm=TILE_MM,
                seed=int(rng.integers(2**31)),
            )  # fmt: skip
            low, high = found.circular_variance_interval.bounds
            hits += low <= truth <= high
            widths.append(high - low)
            biases.append(found.circular_variance - truth)
            naive_low, naive_high = plug_in_interval(orientations, positions, edge)
            naive_hits += naive_low <= truth <= naive_high
            bounds = found.fraction_intervals
            bin_hits += int(np.sum((bounds[:, 0] <= fractions) & (fractions <= bounds[:, 1])))
        totals += (hits, naive_hits, bin_hits)
        print(
            f"{a:4.1f} {scatter_deg:4.0f} | {truth:7.3f} {np.mean(biases):+12.3f} | "
            f"{hits:>4}/{args.maps:<5} {np.mean(widths):6.3f} | {naive_hits:>7}/{args.maps:<9} | "
            f"{bin_hits:>5}/{8 * args.maps:<6}"
        )
    n = args.maps * len(SETTINGS)
    print(
        f"\ncircular variance covered {totals[0]} of {n} ({100 * totals[0] / n:.0f} %), "
        f"plug-in bootstrap {totals[1]} ({100 * totals[1] / n:.0f} %); bins {totals[2]} of "
        f"{8 * n} ({100 * totals[2] / (8 * n):.0f} %)"
    )


if __name__ == "__main__":
    main()
