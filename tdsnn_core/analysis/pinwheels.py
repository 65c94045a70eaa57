"""Pinwheel density of orientation maps, measured per the map's own column spacing.

1. Column spacing Lambda (Kaschube et al. 2010): the peak of the radially averaged power
   spectrum of z = exp(2i theta) (Hann-tapered, zero-padded) binned on a grid of half the
   unit spacing, refined by the mode of the excess power over the floor: the mean-shift
   fixed point of its centroid under a Gaussian kernel of ``CENTROID_KERNEL_BINS`` rings.
   A centroid over the rings of the peak's half-maximum lobe (earlier releases) moved in
   steps as rings entered and left the lobe: -0.09 to +0.18 mm at Lambda 5.6-7.0 mm.
   Units at random positions put a flat floor under that spectrum, sum |z - mean z|^2
   whatever the map (the white-noise floor); a peak must clear it ``MIN_PEAK_TO_FLOOR``-fold.
2. Smoothing: the Gaussian local-linear estimate of z on a grid (``local_linear_average``).
   Its kernel pools n_eff = 4 pi sigma^2 density units. sigma is the smallest kernel that
   pools enough units for the map's noise, n_eff = max(``MIN_UNITS_PER_KERNEL``,
   ``NOISE_UNITS_PER_KERNEL`` * (1 - q) / q), with q the orientation coherence of
   neighbouring units (mean Re z_u z_v* over pairs in a cell of half the unit spacing:
   1 for a noiseless map, 0 for a shuffled one). Smoothing merges pinwheel pairs closer
   than about sigma, so sigma may not exceed ``MAX_SIGMA_PER_COLUMN`` * Lambda (Lambda / 8
   loses about 5 % of the pinwheels of a band-limited map, Lambda / 12 about 3 %).
3. Pinwheels: zeros of the smoothed field, each a +-1 winding of its phase around a loop
   of four grid samples (stride sigma / 2), placed at the zero of the plane through them.
   Density = count / (area / Lambda^2); a band-limited random map gives pi.
4. Interval (parametric bootstrap): the detector on ``INTERVAL_MAPS`` band-limited random
   maps of the measured Lambda, at the same unit positions, with per-unit scatter that gives
   the measured coherence q; the spread of their densities is the density's standard error
   (the count of one finite sheet, the estimate of Lambda and the detector's own misses and
   false pinwheels), and the interval is density +- z * that error. A tile bootstrap of the
   detected pinwheels with Lambda fixed was measured too narrow (sd 6 % vs 11 % across maps
   of the model's scale).
5. Lambda's interval (parametric bootstrap). What it covers: Lambda of the map's population
   spectrum, the mode of the expected excess power per mode of exp(2i theta), read as the
   estimator reads one map's spectrum (the same kernel), so the estimator is its plug-in
   estimate. (A peak read ring by ring, a log-parabola through three rings, lies up to 2 %
   off it where the spectral lobe is lopsided, and an estimator and a truth that read the
   peak differently part by that much.) Stationary Gaussian fields whose spectrum is a ring
   at the measured Lambda (``ring_spectrum_orientations``), as wide as makes their peaks as
   wide as the measured one, at the same unit positions and coherence, give the estimate's
   spread and its bias: the mean estimate less the mode of the maps' mean spectrum (taking
   the phase of a field moves its spectral peak by about 1 %, so the field's ring is not the
   truth). A model's map has a lobe of finite width, whose random phases move the peak of
   one sheet's spectrum: on maps of the default V1's scale that spread is 0.1-0.3 mm, where
   a band-limited map (a ring of no width) spreads by 0.03 mm. The interval is the estimate
   less the bias, +- z times the spread. bench/column_spacing.py measures its coverage on
   maps of known spectrum, symmetric rings and rings wider on one side: 96 % overall, 92 %
   on the most lopsided.

A map is resolvable when Lambda is measured (a spectral peak), the sheet holds at least
``MIN_COLUMNS_PER_SIDE`` columns along each side, Lambda spans ``MIN_SPACINGS_PER_COLUMN``
unit spacings, and a kernel of sigma = Lambda / 8 pools the n_eff the noise needs.
Otherwise ``detect_pinwheels`` reports no pinwheels, a NaN density and the reason.
The thresholds come from maps of known pinwheel count (``synthetic_maps``,
bench/pinwheels.py): they keep the count within a few % of the truth from 20,000 to
100,000 units on a 36.75 mm sheet and reject shuffled maps.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.stats import norm

from tdsnn_core.analysis._validation import as_positions, as_unit_values
from tdsnn_core.analysis.grid import SheetGrid, local_linear_average
from tdsnn_core.analysis.intervals import Interval
from tdsnn_core.analysis.synthetic_maps import BandLimitedMap, ring_spectrum_orientations

MIN_PEAK_TO_FLOOR = 4.0
MIN_COLUMNS_PER_SIDE = 4.0
MIN_SPACINGS_PER_COLUMN = 4.0
MIN_UNITS_PER_KERNEL = 6.0
NOISE_UNITS_PER_KERNEL = 40.0
MAX_SIGMA_PER_COLUMN = 1 / 8
MAX_SPECTRUM_CELLS_PER_SIDE = 1024
FIRST_RING = 4  # Lambda at most half the spectrum box's longer side
INTERVAL_MAPS = 20
CENTROID_KERNEL_BINS = 2.0
SPACING_INTERVAL_MAPS = 40
WIDTH_TRIALS = np.array([0.25, 0.5, 0.75, 1.0])  # x the peak's width, as a ring's sd
WIDTH_TRIAL_MAPS = 6


@dataclass(frozen=True)
class MapSpectrum:
    """Radially averaged power of exp(2i theta) in units of the white-noise floor (1 = the
    power of units with random orientations); ``column_spacing_mm`` is NaN when no peak
    reaches ``MIN_PEAK_TO_FLOOR``; ``coherence`` is q (see the module docstring)."""

    wavenumbers: np.ndarray  # rad / mm
    power: np.ndarray
    column_spacing_mm: float
    peak_to_floor: float
    coherence: float
    peak_width_per_mm: float = np.nan  # full width at half maximum of the peak, rad / mm


@dataclass(frozen=True)
class OrientationField:
    """An orientation map resampled on a grid: ``vector`` is the local-linear estimate of
    exp(2i theta) with a Gaussian of ``sigma_mm`` pooling ``effective_units`` units."""

    grid: SheetGrid
    vector: np.ndarray
    sigma_mm: float
    effective_units: float

    @property
    def orientation_deg(self) -> np.ndarray:
        """Smoothed preferred orientation in [0, 180) degrees, [n_y, n_x]."""
        return np.rad2deg(np.angle(self.vector) / 2) % 180.0


@dataclass(frozen=True)
class Pinwheels:
    """Detected pinwheels.

    ``signs`` is +1 where the orientation turns by +180 degrees along a counterclockwise
    loop (x right, y up), -1 for the opposite. ``density`` is pinwheels per column spacing
    squared, count / (area / Lambda^2) (biology and band-limited random maps: about pi),
    NaN when not ``resolvable``; ``reason`` then says why, and there are no pinwheels.
    ``density_interval``: the density's 95 % interval (module docstring, step 4); None when
    not resolvable, not asked for, or fewer than 2 of the random maps resolve.
    ``column_spacing_interval``: Lambda's 95 % interval (step 5), for every map with a
    spectral peak, resolvable or not; None when not asked for or too few simulations peak.
    """

    centres_mm: np.ndarray
    signs: np.ndarray
    column_spacing_mm: float
    density: float
    resolvable: bool
    reason: str | None
    field: OrientationField
    spectrum: MapSpectrum
    density_interval: Interval | None = None
    column_spacing_interval: Interval | None = None

    @property
    def count(self) -> int:
        return len(self.signs)


@dataclass(frozen=True)
class PinwheelNull:
    """Pinwheels of maps with the orientations permuted across units: per shuffle the count
    and the density (NaN where not resolvable), and the fraction that was resolvable."""

    counts: np.ndarray
    densities: np.ndarray
    resolvable_fraction: float


def _unit_spacing(area_mm2: float, n_units: int) -> float:
    return float(np.sqrt(area_mm2 / n_units))


class _SpectrumGrid:
    """The binning grid, taper and wavenumber rings of ``map_spectrum`` for one set of
    positions (reused across every map on them: shuffles, simulations)."""

    @classmethod
    def of_sheet(cls, positions: np.ndarray, area: float) -> _SpectrumGrid:
        """The grid of units on a sheet of ``area`` (mm^2), binned at half their spacing."""
        return cls(positions, _unit_spacing(area, len(positions)))

    def __init__(self, positions: np.ndarray, spacing_mm: float) -> None:
        low, high = positions.min(axis=0), positions.max(axis=0)
        stride = max(spacing_mm / 2, float(np.max(high - low)) / MAX_SPECTRUM_CELLS_PER_SIDE)
        grid = SheetGrid.from_box(low, high, stride)
        self.shape = n_y, n_x = grid.shape
        self.index = grid.cell_index(positions)
        self.taper = np.outer(np.hanning(n_y + 2)[1:-1], np.hanning(n_x + 2)[1:-1])
        dx, dy = grid.cell_size
        k = np.hypot(*np.meshgrid(np.fft.fftfreq(2 * n_x, dx), np.fft.fftfreq(2 * n_y, dy)))
        bin_width = 1 / (2 * max(n_x * dx, n_y * dy))  # cycles / mm, half the box's
        self.rings = np.rint(k / bin_width).astype(int).ravel()
        self.n_modes = np.bincount(self.rings)
        self.wavenumbers = 2 * np.pi * bin_width * np.arange(len(self.n_modes))
        # Past the Nyquist wavenumber along an axis, rings hold only corners of the spectrum.
        self.last = int(np.floor(1 / (2 * max(dx, dy)) / bin_width))

    def binned(self, weights: np.ndarray) -> np.ndarray:
        n_y, n_x = self.shape
        return np.bincount(self.index, weights=weights, minlength=n_y * n_x).reshape(n_y, n_x)


def map_spectrum(
    positions: np.ndarray,
    orientation_deg: np.ndarray,
    *,
    spacing_mm: float,
    grid: _SpectrumGrid | None = None,
) -> MapSpectrum:
    """Power spectrum of exp(2i theta) of units (positions [N, 2] mm, ``spacing_mm`` apart)."""
    grid = grid or _SpectrumGrid(positions, spacing_mm)
    z = np.exp(2j * np.deg2rad(orientation_deg))
    z = z - z.mean()
    sums = grid.binned(z.real) + 1j * grid.binned(z.imag)
    square_sums = grid.binned(np.abs(z) ** 2)
    counts = grid.binned(np.ones(len(z)))
    pairs = float(np.sum(counts * (counts - 1)))
    coherence = float(np.sum(np.abs(sums) ** 2 - square_sums) / pairs) if pairs else np.nan

    floor = float(np.sum(grid.taper**2 * square_sums))
    n_y, n_x = grid.shape
    power = np.abs(np.fft.fft2(grid.taper * sums, s=(2 * n_y, 2 * n_x))) ** 2
    profile = np.bincount(grid.rings, power.ravel()) / np.maximum(grid.n_modes, 1)
    profile = profile / floor if floor > 0 else np.zeros_like(profile)

    if floor <= 0 or grid.last <= FIRST_RING:
        return MapSpectrum(grid.wavenumbers, profile, np.nan, 0.0, coherence)
    peak = FIRST_RING + int(np.argmax(profile[FIRST_RING : grid.last + 1]))
    peak_to_floor = float(profile[peak])
    if peak_to_floor < MIN_PEAK_TO_FLOOR:
        return MapSpectrum(grid.wavenumbers, profile, np.nan, peak_to_floor, coherence)
    mode = _power_mode(profile, grid.wavenumbers, grid.last)
    excess = np.clip(profile - 1, 0.0, None)
    width = _half_maximum_width(excess, grid.wavenumbers, peak, grid.last)
    return MapSpectrum(grid.wavenumbers, profile, 2 * np.pi / mode, peak_to_floor, coherence, width)


def _power_mode(power: np.ndarray, wavenumbers: np.ndarray, last: int) -> float:
    """The wavenumber (rad / mm) at the mode of the excess power over the floor, rings
    ``FIRST_RING`` to ``last``: ``_kernel_peak`` from the highest ring."""
    rings = np.arange(FIRST_RING, last + 1)
    excess = np.clip(power[rings] - 1, 0.0, None)
    return _kernel_peak(excess, wavenumbers[rings], wavenumbers[rings][np.argmax(excess)])


def _kernel_peak(excess: np.ndarray, wavenumbers: np.ndarray, start: float) -> float:
    """The mode of the excess power over wavenumber: the mean-shift fixed point of its
    centroid under a Gaussian kernel of ``CENTROID_KERNEL_BINS`` ring widths, from ``start``.
    Unlike a centroid over the rings of a lobe, it moves continuously with the spectrum."""
    bandwidth = CENTROID_KERNEL_BINS * (wavenumbers[1] - wavenumbers[0])
    centre = start
    for _ in range(200):
        weights = excess * np.exp(-0.5 * ((wavenumbers - centre) / bandwidth) ** 2)
        moved = float(np.sum(weights * wavenumbers) / np.sum(weights))
        if abs(moved - centre) < 1e-9 * centre:
            return moved
        centre = moved
    return centre


def _half_maximum_width(excess: np.ndarray, wavenumbers: np.ndarray, peak: int, last: int) -> float:
    """Full width at half maximum (rad / mm) of the excess power's lobe around ``peak``,
    its edges interpolated linearly between rings."""
    half = excess[peak] / 2
    edges = []
    for step, stop in ((-1, FIRST_RING), (1, last)):
        ring = peak
        while ring != stop and excess[ring + step] > half:
            ring += step
        edge = wavenumbers[ring]
        if ring != stop:
            fraction = (excess[ring] - half) / (excess[ring] - excess[ring + step])
            edge += step * fraction * (wavenumbers[1] - wavenumbers[0])
        edges.append(edge)
    return float(edges[1] - edges[0])


def units_per_kernel_needed(coherence: float) -> float:
    """n_eff the kernel must pool for a map whose neighbouring units cohere by ``coherence``."""
    if not coherence > 0:
        return np.inf
    return max(MIN_UNITS_PER_KERNEL, NOISE_UNITS_PER_KERNEL * (1 - coherence) / coherence)


def orientation_field(
    positions: np.ndarray, orientation_deg: np.ndarray, *, sigma_mm: float, stride_mm: float
) -> OrientationField:
    """Resample per-unit orientations (degrees, period 180) on a grid of ``stride_mm``.

    The grid's samples span the positions' bounding box, so its four-sample loops tile it.
    """
    positions = as_positions(positions)
    orientation_deg = as_unit_values(orientation_deg, len(positions), "orientation_deg")
    low, high = positions.min(axis=0), positions.max(axis=0)
    grid = SheetGrid.from_box(low - stride_mm / 2, high + stride_mm / 2, stride_mm)
    z = np.exp(2j * np.deg2rad(orientation_deg))
    vector = local_linear_average(grid, positions, z, sigma_mm)
    density = len(positions) / float(np.prod(np.maximum(high - low, stride_mm)))
    return OrientationField(grid, vector, sigma_mm, 4 * np.pi * sigma_mm**2 * density)


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


def field_pinwheels(field: OrientationField) -> tuple[np.ndarray, np.ndarray]:
    """Zeros of a field: centres [K, 2] (mm) and signs [K]; a loop winding by w holds |w|."""
    winding = doubled_angle_winding(field.vector)
    iy, ix = np.nonzero(winding)
    repeats = np.abs(winding[iy, ix])
    zero_x, zero_y = _loop_zero_positions(field)
    centres = np.column_stack((zero_x[iy, ix], zero_y[iy, ix]))
    return np.repeat(centres, repeats, axis=0), np.repeat(np.sign(winding[iy, ix]), repeats)


def _unresolvable_reason(
    spectrum: MapSpectrum, side_mm: float, spacing_mm: float, density: float
) -> str | None:
    """Why pinwheels of this map cannot be counted (None when they can)."""
    spacing = spectrum.column_spacing_mm
    if not np.isfinite(spacing):
        return (
            f"no column spacing: the spectral peak is {spectrum.peak_to_floor:.1f} times the "
            f"white-noise floor of randomly placed units, below {MIN_PEAK_TO_FLOOR:g}"
        )
    if side_mm / spacing < MIN_COLUMNS_PER_SIDE:
        return (
            f"too few columns: Lambda = {spacing:.2f} mm fits {side_mm / spacing:.1f} times "
            f"along the sheet's shorter side, below {MIN_COLUMNS_PER_SIDE:g}"
        )
    if spacing / spacing_mm < MIN_SPACINGS_PER_COLUMN:
        return (
            f"units too sparse: Lambda = {spacing:.2f} mm spans {spacing / spacing_mm:.1f} unit "
            f"spacings ({spacing_mm:.2f} mm), below {MIN_SPACINGS_PER_COLUMN:g}"
        )
    widest = MAX_SIGMA_PER_COLUMN * spacing
    available = 4 * np.pi * widest**2 * density
    needed = units_per_kernel_needed(spectrum.coherence)
    if available < needed:
        return (
            f"too few effective units per kernel: the widest kernel that keeps pinwheel "
            f"pairs apart, sigma = Lambda / {1 / MAX_SIGMA_PER_COLUMN:g} = {widest:.2f} mm, "
            f"pools {available:.1f} units; the map's noise (neighbour coherence "
            f"{spectrum.coherence:.2f}) needs {needed:.1f}"
        )
    return None


@dataclass(frozen=True)
class _Assessment:
    """What ``detect_pinwheels`` decides before smoothing: the spectrum, the reason the map
    is not resolvable (None if it is) and the kernel."""

    spectrum: MapSpectrum
    reason: str | None
    sigma_mm: float


def _sheet_area(positions: np.ndarray, sheet_edge_mm: float | None) -> float:
    area = float(np.prod(np.ptp(positions, axis=0))) if sheet_edge_mm is None else sheet_edge_mm**2
    if area <= 0:
        raise ValueError("the sheet has no area: give sheet_edge_mm or spread the units")
    return area


def _assess(
    positions: np.ndarray,
    orientation_deg: np.ndarray,
    area: float,
    grid: _SpectrumGrid,
) -> _Assessment:
    extent = np.ptp(positions, axis=0)
    density = len(positions) / area
    spacing_mm = _unit_spacing(area, len(positions))
    spectrum = map_spectrum(positions, orientation_deg, spacing_mm=spacing_mm, grid=grid)
    reason = _unresolvable_reason(spectrum, float(extent.min()), spacing_mm, density)
    sigma_cap = (
        MAX_SIGMA_PER_COLUMN * spectrum.column_spacing_mm
        if np.isfinite(spectrum.column_spacing_mm)
        else np.sqrt(MIN_UNITS_PER_KERNEL / (4 * np.pi * density))
    )
    needed = units_per_kernel_needed(spectrum.coherence)
    sigma_mm = float(min(np.sqrt(needed / (4 * np.pi * density)), sigma_cap))
    return _Assessment(spectrum, reason, sigma_mm)


def detect_pinwheels(
    positions: np.ndarray,
    orientation_deg: np.ndarray,
    *,
    sheet_edge_mm: float | None = None,
    interval_maps: int = INTERVAL_MAPS,
    level: float = 0.95,
    seed: int = 0,
) -> Pinwheels:
    """Pinwheels of an orientation map given per unit (positions [N, 2] in mm, orientations
    in degrees, period 180); see the module docstring for the method and the criteria.

    The sheet's area is ``sheet_edge_mm``^2, by default that of the positions' bounding box.
    A map with a spectral peak gets Lambda's ``level`` interval; a resolvable map's density
    gets its interval from ``interval_maps`` random maps (0: neither interval).
    """
    positions = as_positions(positions)
    orientation_deg = as_unit_values(orientation_deg, len(positions), "orientation_deg")
    area = _sheet_area(positions, sheet_edge_mm)
    grid = _SpectrumGrid.of_sheet(positions, area)
    found = _detect(positions, orientation_deg, area, grid)
    if interval_maps < 1 or not np.isfinite(found.column_spacing_mm):
        return found
    spacing = column_spacing_interval(
        positions, found.spectrum, area, level=level, seed=seed, grid=grid
    )
    found = replace(found, column_spacing_interval=spacing)
    if not found.resolvable:
        return found
    error = density_error(positions, found, area, interval_maps, seed, grid)
    if not np.isfinite(error):
        return found
    half = float(norm.ppf(0.5 + level / 2)) * error
    interval = Interval(found.density, found.density - half, found.density + half, level)
    return replace(found, density_interval=interval)


def _unit_scatter_rad(coherence: float) -> float:
    """Per-unit Gaussian scatter of orientation (radians) that leaves neighbouring units of a
    smooth map with ``coherence``: E cos 2(e_u - e_v) = exp(-4 s^2)."""
    return float(np.sqrt(abs(np.log(min(max(coherence, 1e-6), 1.0))) / 4))  # +0 at 1, not -0


def density_error(
    positions: np.ndarray,
    found: Pinwheels,
    area: float,
    n_maps: int,
    seed: int = 0,
    grid: _SpectrumGrid | None = None,
) -> float:
    """Standard error of ``found.density``: the spread of the detector's densities on
    ``n_maps`` band-limited random maps of its Lambda, sampled at ``positions`` with the
    per-unit scatter that gives its neighbour coherence (NaN if fewer than 2 resolve).
    ``grid``: the positions' ``_SpectrumGrid``, if already built."""
    grid = grid or _SpectrumGrid.of_sheet(positions, area)
    scatter_rad = _unit_scatter_rad(found.spectrum.coherence)
    edge = float(np.sqrt(area))
    rng = np.random.default_rng(seed)
    densities = []
    for _ in range(n_maps):
        band = BandLimitedMap.random(found.column_spacing_mm, edge, seed=int(rng.integers(2**31)))
        noisy = band.orientation_deg(positions) + np.rad2deg(
            rng.normal(0, scatter_rad, len(positions))
        )
        simulated = _detect(positions, noisy, area, grid)
        if simulated.resolvable:
            densities.append(simulated.density)
    return float(np.std(densities, ddof=1)) if len(densities) > 1 else np.nan


def expected_column_spacing(spectra: list[MapSpectrum], last: int) -> float:
    """Lambda at the mode of the mean spectrum of ``spectra`` (maps of one kind, on one
    ``_SpectrumGrid`` whose last full ring is ``last``), read as ``map_spectrum`` reads one
    map's: what Lambda's interval covers."""
    mean_power = np.mean([s.power for s in spectra], axis=0)
    return 2 * np.pi / _power_mode(mean_power, spectra[0].wavenumbers, last)


def _mean_peak_width(spectra: list[MapSpectrum]) -> float:
    """Mean half-maximum width of the spectra that have a peak (NaN if none has)."""
    widths = [s.peak_width_per_mm for s in spectra if np.isfinite(s.peak_width_per_mm)]
    return float(np.mean(widths)) if widths else np.nan


def column_spacing_interval(
    positions: np.ndarray,
    spectrum: MapSpectrum,
    area: float,
    *,
    n_maps: int = SPACING_INTERVAL_MAPS,
    level: float = 0.95,
    seed: int = 0,
    grid: _SpectrumGrid | None = None,
) -> Interval | None:
    """``level`` interval of the map's column spacing: a parametric bootstrap (module
    docstring, step 5). None when the simulated maps rarely show a peak (at fewer than two
    of the trial ring widths, or in fewer than half of the final maps). ``grid``: the
    positions' ``_SpectrumGrid``, if already built."""
    spacing_mm = _unit_spacing(area, len(positions))
    grid = grid or _SpectrumGrid(positions, spacing_mm)
    rng = np.random.default_rng(seed)
    scatter_rad = _unit_scatter_rad(spectrum.coherence)
    estimate = spectrum.column_spacing_mm

    def simulated(ring_width: float, n: int) -> list[MapSpectrum]:
        return [
            map_spectrum(
                positions,
                ring_spectrum_orientations(
                    positions, estimate, ring_width, scatter_rad=scatter_rad, rng=rng
                ),
                spacing_mm=spacing_mm,
                grid=grid,
            )
            for _ in range(n)
        ]

    # The ring width whose simulated maps show the measured peak width: their squared
    # half-maximum width grows linearly with the ring's squared width.
    trial_widths = WIDTH_TRIALS * spectrum.peak_width_per_mm / np.sqrt(8 * np.log(2))
    trial_fwhm = np.array([_mean_peak_width(simulated(w, WIDTH_TRIAL_MAPS)) for w in trial_widths])
    peaked = np.isfinite(trial_fwhm)
    if peaked.sum() < 2:
        return None
    slope, offset = np.polyfit(trial_widths[peaked] ** 2, trial_fwhm[peaked] ** 2, 1)
    squared = (spectrum.peak_width_per_mm**2 - offset) / slope if slope > 0 else 0.0
    maps = simulated(np.sqrt(max(squared, 0)), n_maps)
    spacings = np.array([s.column_spacing_mm for s in maps])
    spacings = spacings[np.isfinite(spacings)]
    if len(spacings) < max(2, n_maps / 2):
        return None
    truth = expected_column_spacing(maps, grid.last)
    centre = estimate - (float(np.mean(spacings)) - truth)  # less the estimator's bias
    half = float(norm.ppf(0.5 + level / 2)) * float(np.std(spacings, ddof=1))
    return Interval(estimate, centre - half, centre + half, level)


def _detect(
    positions: np.ndarray, orientation_deg: np.ndarray, area: float, grid: _SpectrumGrid
) -> Pinwheels:
    plan = _assess(positions, orientation_deg, area, grid)
    spacing = plan.spectrum.column_spacing_mm
    field = orientation_field(
        positions, orientation_deg, sigma_mm=plan.sigma_mm, stride_mm=plan.sigma_mm / 2
    )
    if plan.reason is not None:
        empty = np.zeros((0, 2)), np.zeros(0, dtype=int)
        return Pinwheels(*empty, spacing, np.nan, False, plan.reason, field, plan.spectrum)
    centres, signs = field_pinwheels(field)
    density = len(signs) / (area / spacing**2)
    return Pinwheels(centres, signs, spacing, density, True, None, field, plan.spectrum)


def shuffled_pinwheel_null(
    positions: np.ndarray,
    orientation_deg: np.ndarray,
    *,
    n_shuffles: int = 20,
    seed: int = 0,
    sheet_edge_mm: float | None = None,
) -> PinwheelNull:
    """``detect_pinwheels`` on ``n_shuffles`` maps with the orientations permuted across
    the same positions (a map of the same unit density and orientation histogram)."""
    positions = as_positions(positions)
    orientation_deg = as_unit_values(orientation_deg, len(positions), "orientation_deg")
    area = _sheet_area(positions, sheet_edge_mm)
    grid = _SpectrumGrid.of_sheet(positions, area)
    rng = np.random.default_rng(seed)
    counts, densities = np.zeros(n_shuffles, dtype=int), np.full(n_shuffles, np.nan)
    for i in range(n_shuffles):
        shuffled = rng.permutation(orientation_deg)
        plan = _assess(positions, shuffled, area, grid)
        if plan.reason is None:  # smooth only the maps that pass, as detect_pinwheels does
            field = orientation_field(
                positions, shuffled, sigma_mm=plan.sigma_mm, stride_mm=plan.sigma_mm / 2
            )
            counts[i] = len(field_pinwheels(field)[1])
            densities[i] = counts[i] / (area / plan.spectrum.column_spacing_mm**2)
    resolvable = np.isfinite(densities)
    return PinwheelNull(counts, densities, float(resolvable.mean()) if n_shuffles else np.nan)
