"""Band-limited random orientation maps whose pinwheels are known from the analytic field.

The doubled-angle field is z(x) = sum_j c_j exp(i k_j . x), a sum of plane waves with
|k_j| = 2 pi / Lambda, directions drawn one per equal sector of the circle (so the
spectrum is isotropic), and circular complex Gaussian coefficients c_j (random phases).
Given its directions z is a stationary Gaussian field, whose expected density of zeros
(pinwheels) is exactly pi per Lambda^2 (Wolf & Geisel 1998). Orientation = angle(z) / 2.
The true count of one realisation comes from the exact field on a fine lattice, with its
own winding code, independent of the detector's.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BandLimitedMap:
    """z(x) = sum_j coefficients[j] * exp(i wavevectors[j] . x) on [0, edge_mm]^2."""

    wavevectors: np.ndarray  # [J, 2], rad / mm
    coefficients: np.ndarray  # [J], complex
    column_spacing_mm: float
    edge_mm: float

    @classmethod
    def random(
        cls, column_spacing_mm: float, edge_mm: float, *, n_waves: int = 64, seed: int = 0
    ) -> BandLimitedMap:
        rng = np.random.default_rng(seed)
        directions = 2 * np.pi * (np.arange(n_waves) + rng.uniform(size=n_waves)) / n_waves
        k = 2 * np.pi / column_spacing_mm
        wavevectors = k * np.column_stack((np.cos(directions), np.sin(directions)))
        coefficients = (rng.normal(size=n_waves) + 1j * rng.normal(size=n_waves)) / np.sqrt(
            2 * n_waves
        )
        return cls(wavevectors, coefficients, column_spacing_mm, edge_mm)

    def field(self, positions: np.ndarray) -> np.ndarray:
        """z at positions [N, 2] (mm)."""
        phase = positions @ self.wavevectors.T
        return np.cos(phase) @ self.coefficients + 1j * (np.sin(phase) @ self.coefficients)

    def lattice_field(self, spacing_mm: float) -> np.ndarray:
        """z on the square lattice of ``spacing_mm`` covering [0, edge]^2, [n_y, n_x].

        The waves factorise, exp(i (kx x + ky y)) = exp(i kx x) exp(i ky y), so the lattice
        is one matrix product.
        """
        axis = np.linspace(0, self.edge_mm, int(np.ceil(self.edge_mm / spacing_mm)) + 1)
        along_x = np.exp(1j * np.outer(axis, self.wavevectors[:, 0]))
        along_y = np.exp(1j * np.outer(axis, self.wavevectors[:, 1]))
        return (along_y * self.coefficients) @ along_x.T

    def orientation_deg(self, positions: np.ndarray) -> np.ndarray:
        """Preferred orientation angle(z) / 2 in [0, 180) degrees."""
        return np.rad2deg(np.angle(self.field(positions)) / 2) % 180.0

    def pinwheel_count(self, spacing_mm: float | None = None) -> int:
        """Zeros of z in the square: windings of its phase around every lattice plaquette.

        ``spacing_mm`` defaults to Lambda / 100: coarser lattices can alias the phase
        around a deep near-zero into a spurious pair.
        """
        z = self.lattice_field(spacing_mm or self.column_spacing_mm / 100)
        ring = (z[:-1, :-1], z[:-1, 1:], z[1:, 1:], z[1:, :-1], z[:-1, :-1])
        steps = [np.angle(b / a) for a, b in itertools.pairwise(ring)]
        return int(np.abs(np.rint(sum(steps) / (2 * np.pi))).sum())


def uniform_positions(n_units: int, edge_mm: float, seed: int = 0) -> np.ndarray:
    """``n_units`` positions [N, 2] drawn uniformly on [0, edge_mm]^2."""
    return np.random.default_rng(seed).uniform(0, edge_mm, (n_units, 2))


def ring_spectrum_orientations(
    positions: np.ndarray,
    column_spacing_mm: float,
    ring_width_per_mm: float,
    *,
    inner_width_per_mm: float | None = None,
    scatter_rad: float = 0.0,
    rng: np.random.Generator,
) -> np.ndarray:
    """Orientations (degrees) of a map with a ring of finite width in its spectrum.

    z is a stationary complex Gaussian field whose power per Fourier mode is
    exp(-(|k| - k0)^2 / (2 w^2)), k0 = 2 pi / Lambda, w = ``ring_width_per_mm`` (rad / mm;
    ``inner_width_per_mm`` inside the ring, |k| < k0, when given: a lopsided ring):
    every mode of a periodic box twice the positions' extent gets an independent circular
    Gaussian coefficient of that variance (the box's period keeps its wrap-around off the
    sheet). The units read the nearest of its cells (at most Lambda / 16 a side); the
    orientation is angle(z) / 2 plus independent Gaussian scatter of ``scatter_rad`` (of the
    orientation, not the doubled angle). w -> 0 tends to a band-limited map (``BandLimitedMap``);
    a model's map, whose spectrum has a lobe of finite width, is a ring of w > 0.
    """
    low = positions.min(axis=0)
    box = 2 * float(np.max(np.ptp(positions, axis=0)))
    n_cells = int(np.ceil(box / (column_spacing_mm / 16)))
    n_cells += n_cells % 2
    cell = box / n_cells
    k_axis = 2 * np.pi * np.fft.fftfreq(n_cells, cell)
    k = np.hypot(*np.meshgrid(k_axis, k_axis))
    floor = np.pi / (2 * box)  # at least half the box's mode spacing
    outer = max(ring_width_per_mm, floor)
    inner = outer if inner_width_per_mm is None else max(inner_width_per_mm, floor)
    offset = k - 2 * np.pi / column_spacing_mm
    amplitude = np.exp(-0.25 * (offset / np.where(offset < 0, inner, outer)) ** 2)
    noise = rng.normal(size=(2, n_cells, n_cells))
    field = np.fft.ifft2(amplitude * (noise[0] + 1j * noise[1]))
    cells = np.minimum(((positions - low) / cell).astype(int), n_cells - 1)
    angle = np.angle(field[cells[:, 1], cells[:, 0]]) / 2
    return np.rad2deg(angle + rng.normal(0, scatter_rad, len(positions))) % 180.0
