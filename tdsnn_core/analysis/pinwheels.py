"""Pinwheel detection on orientation maps, independent of unit density.

The orientation map is turned into a smooth complex field, the normalised Gaussian
average of ``exp(2i * theta)`` on a regular grid. A pinwheel is a zero of that field:
the doubled angle turns by exactly +-1 around the closed four-sample loop enclosing it
(the orientation by +-1/2 turn). Zeros count only where the map is locally coherent:
the local mean of |field| (in [0, 1]) must exceed ``min_signal_to_noise`` times the
value that units of random orientation at the same positions would give,
1 / sqrt(effective unit count). The field is a ratio of kernel sums and does not scale
with unit density; more units only lower the noise floor, so the gate never gets
stricter as density grows (unlike TDANN's, which divides a circular std by the unit
count).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from tdsnn_core.analysis._validation import as_positions, as_unit_values
from tdsnn_core.analysis.grid import SheetGrid, gaussian_average

DEFAULT_HYPERCOLUMN_WIDTH_MM = 3.5
COHERENCE_SIGMA_FACTOR = 2.0  # coherence = mean |field| over a Gaussian this many sigmas wide


@dataclass(frozen=True)
class OrientationField:
    """An orientation map resampled on a grid.

    ``vector`` is the normalised Gaussian average of exp(2i * theta) (|vector| <= 1);
    ``coherence`` its magnitude averaged over a Gaussian ``COHERENCE_SIGMA_FACTOR`` times
    wider; ``effective_units`` = (sum w)^2 / sum w^2, the number of units the kernel
    effectively pools, for which a map of random orientations has E|vector|^2 = 1 / n.
    """

    grid: SheetGrid
    vector: np.ndarray
    coherence: np.ndarray
    effective_units: np.ndarray

    @property
    def orientation_deg(self) -> np.ndarray:
        """Smoothed preferred orientation in [0, 180) degrees, [n_y, n_x]."""
        return np.rad2deg(np.angle(self.vector) / 2) % 180.0

    @property
    def signal_to_noise(self) -> np.ndarray:
        """Coherence relative to that of random orientations, coherence * sqrt(n_eff)."""
        return self.coherence * np.sqrt(self.effective_units)


@dataclass(frozen=True)
class Pinwheels:
    """Detected pinwheels.

    ``signs`` is +1 where the orientation turns by +180 degrees along a counterclockwise
    loop (x right, y up), -1 for the opposite; ``density`` is pinwheels per hypercolumn
    area, count / (sheet_edge / hypercolumn_width)^2 (biology: about pi).
    """

    centres_mm: np.ndarray
    signs: np.ndarray
    density: float
    field: OrientationField

    @property
    def count(self) -> int:
        return len(self.signs)


def orientation_field(
    positions: np.ndarray, orientation_deg: np.ndarray, *, sigma_mm: float, stride_mm: float
) -> OrientationField:
    """Resample per-unit orientations (degrees, period 180) on a grid of ``stride_mm``."""
    positions = as_positions(positions)
    orientation_deg = as_unit_values(orientation_deg, len(positions), "orientation_deg")
    grid = SheetGrid.from_stride(positions, stride_mm)
    vector = gaussian_average(grid, positions, np.exp(2j * np.deg2rad(orientation_deg)), sigma_mm)

    counts = grid.bin_units(positions)
    kernel_sum = grid.smooth(counts, sigma_mm)  # sum w / (2 pi sx sy), s in cells
    kernel_square_sum = grid.smooth(counts, sigma_mm / np.sqrt(2))  # sum w^2 / (pi sx sy)
    dx, dy = grid.cell_size
    effective_units = np.divide(
        4 * np.pi * sigma_mm**2 / (dx * dy) * kernel_sum**2,
        kernel_square_sum,
        out=np.zeros_like(kernel_sum),
        where=kernel_square_sum > 0,
    )
    coherence = ndimage.gaussian_filter(
        np.abs(vector), COHERENCE_SIGMA_FACTOR * sigma_mm / np.array([dy, dx]), mode="nearest"
    )
    return OrientationField(grid, vector, coherence, effective_units)


def _loop_corners(image: np.ndarray) -> tuple[np.ndarray, ...]:
    """The four samples around each loop, counterclockwise from the lower left."""
    return image[:-1, :-1], image[:-1, 1:], image[1:, 1:], image[1:, :-1]


def doubled_angle_winding(vector: np.ndarray) -> np.ndarray:
    """Turns of the phase of a complex field around each loop of four neighbouring samples.

    ``vector`` is [n_y, n_x]; the result [n_y - 1, n_x - 1] holds integers: the sum of the
    four wrapped phase steps along the closed counterclockwise loop, divided by 2 pi.
    For a doubled-angle orientation field an ideal pinwheel gives exactly +-1.
    """
    corners = _loop_corners(vector)
    total_turn = sum(
        np.angle(end * np.conj(start))
        for start, end in zip(corners, corners[1:] + corners[:1], strict=True)
    )
    return np.rint(total_turn / (2 * np.pi)).astype(int)


def _loop_zero_positions(field: OrientationField) -> tuple[np.ndarray, np.ndarray]:
    """Where the plane fitted to each loop's four samples crosses zero, (x, y) in mm.

    Each result is [n_y - 1, n_x - 1]; the position is clipped to the loop's square.
    """
    f00, f10, f11, f01 = _loop_corners(field.vector)
    mean = (f00 + f10 + f11 + f01) / 4
    along_x = (f10 + f11 - f00 - f01) / 2
    along_y = (f01 + f11 - f00 - f10) / 2
    # Solve mean + along_x * u + along_y * v = 0 for real u, v (cells) by Cramer's rule.
    det = along_x.real * along_y.imag - along_y.real * along_x.imag
    u_numerator = along_y.real * mean.imag - mean.real * along_y.imag
    v_numerator = mean.real * along_x.imag - along_x.real * mean.imag
    offsets = [
        np.clip(np.divide(num, det, out=np.zeros_like(det), where=det != 0), -0.5, 0.5)
        for num in (u_numerator, v_numerator)
    ]
    dx, dy = field.grid.cell_size
    x_mid = field.grid.x_centres[:-1] + dx / 2
    y_mid = field.grid.y_centres[:-1] + dy / 2
    return x_mid[None, :] + offsets[0] * dx, y_mid[:, None] + offsets[1] * dy


def detect_pinwheels(
    positions: np.ndarray,
    orientation_deg: np.ndarray,
    *,
    hypercolumn_width_mm: float = DEFAULT_HYPERCOLUMN_WIDTH_MM,
    sigma_mm: float | None = None,
    stride_mm: float | None = None,
    min_signal_to_noise: float = 2.5,
    sheet_edge_mm: float | None = None,
) -> Pinwheels:
    """Find the pinwheels of an orientation map given per unit (positions [N, 2] in mm).

    Defaults scale with the map: ``sigma_mm`` = hypercolumn width / 8 (0.44 mm for 3.5 mm,
    the variance of TDANN's 1.5 mm square window) and ``stride_mm`` = sigma / 2.
    Neighbouring loops with a winding form one island; an island whose windings cancel
    (two opposite zeros closer than the grid resolves) is dropped, any other counts as one
    pinwheel, placed at the mean over its loops of the zero of the plane fitted to the
    loop's four samples. ``sheet_edge_mm`` defaults to the larger side of the positions'
    bounding box.
    """
    positions = as_positions(positions)
    sheet_edge = float(np.ptp(positions, axis=0).max()) if sheet_edge_mm is None else sheet_edge_mm
    if sheet_edge <= 0 or hypercolumn_width_mm <= 0:
        raise ValueError("the sheet edge and the hypercolumn width must be positive")
    sigma_mm = hypercolumn_width_mm / 8 if sigma_mm is None else sigma_mm
    stride_mm = sigma_mm / 2 if stride_mm is None else stride_mm
    field = orientation_field(positions, orientation_deg, sigma_mm=sigma_mm, stride_mm=stride_mm)

    winding = doubled_angle_winding(field.vector)
    loop_snr = sum(_loop_corners(field.signal_to_noise)) / 4
    candidates = (winding != 0) & (loop_snr >= min_signal_to_noise)
    labels, n_islands = ndimage.label(candidates, structure=np.ones((3, 3), dtype=bool))
    island_ids = np.arange(1, n_islands + 1)
    net_winding = np.asarray(ndimage.sum_labels(winding, labels, island_ids)).astype(int)
    kept = island_ids[net_winding != 0]

    zero_x, zero_y = _loop_zero_positions(field)
    centres = np.column_stack(
        (ndimage.mean(zero_x, labels, kept), ndimage.mean(zero_y, labels, kept))
    ).reshape(-1, 2)
    density = len(kept) / (sheet_edge / hypercolumn_width_mm) ** 2
    return Pinwheels(centres, np.sign(net_winding[net_winding != 0]), density, field)
