"""Report figures: one PNG per topic, models side by side (maps) or overlaid (curves).

Figures are drawn on ``matplotlib.figure.Figure`` objects rendered by the Agg canvas, so no
pyplot state or GUI backend is involved.

Each ``draw_*`` function takes the analyses to show and the output path, and returns False
(writing nothing) when no analysis has that part.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from tdsnn_core.experiments.temporal import fisher_intervals
from tdsnn_core.reports.summary import bracket

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from tdsnn_core.analysis.intervals import Interval
    from tdsnn_core.analysis.maps import OrientationMap
    from tdsnn_core.experiments.pipeline import ModelAnalysis

PANEL = 4.0  # inches per panel side


def _save(fig: Figure, path: Path) -> bool:
    fig.savefig(path, dpi=90)
    return True


def _panels(rows: int, cols: int) -> tuple[Figure, np.ndarray]:
    fig = Figure(figsize=(PANEL * cols, PANEL * rows), layout="constrained")
    return fig, fig.subplots(rows, cols, squeeze=False)


def draw_orientation(results: list[ModelAnalysis], path: Path) -> bool:
    """Preferred orientation of the analysed V1 units on the sheet, pinwheels marked."""
    shown = [r for r in results if r.orientation is not None]
    if not shown:
        return False
    fig, axes = _panels(1, len(shown))
    for ax, r in zip(axes[0], shown, strict=True):
        orientation_panel(fig, ax, r.orientation, r.label)
    return _save(fig, path)


def orientation_panel(fig: Figure, ax: Axes, om: OrientationMap, label: str) -> None:
    """One sheet's orientation map, pinwheels marked, titled ``label`` and the pinwheel count:
    the smoothed map of all tuned units the pinwheels were found on, or (not resolvable) the
    analysed units coloured by their preferred orientation."""
    colours = {"cmap": "hsv", "vmin": 0, "vmax": 180}
    if om.pinwheels.resolvable:
        field = om.pinwheels.field
        extent = field.grid.extent
        shown = ax.imshow(field.orientation_deg, origin="lower", extent=extent, **colours)
    else:
        xy, preferred = om.analysed_map
        shown = ax.scatter(xy[:, 0], xy[:, 1], c=preferred, s=6, **colours)
    centres, signs = om.pinwheels.centres_mm, om.pinwheels.signs
    ax.scatter(
        centres[:, 0],
        centres[:, 1],
        c=np.where(signs > 0, "white", "black"),
        edgecolors="k",
        marker="o",
        s=40,
        label="pinwheels",
    )
    ax.set_title(f"{label}\n{_pinwheel_caption(om.pinwheels)}", fontsize=9)
    ax.set(xlabel="x (mm)", ylabel="y (mm)", aspect="equal")
    fig.colorbar(shown, ax=ax, label="preferred orientation (deg)")


def draw_smoothness(results: list[ModelAnalysis], path: Path) -> bool:
    """Left: TDANN's windowed curve (per-sample curves faint) with the shuffle null's chance
    level (dotted). Centre: the whole-sheet curve. Right: the preferences' 22.5-degree histogram.
    """
    shown = [r for r in results if r.orientation is not None]
    if not shown:
        return False
    fig, axes = _panels(1, 3)
    window, sheet, histogram = axes[0]
    width = 22.5 / (len(shown) + 1)
    for i, r in enumerate(shown):
        om, colour = r.orientation, f"C{i}"
        s, score = om.smoothness, om.smoothness_null.score
        window.plot(s.bin_centres, s.curves.T, color=colour, alpha=0.15, lw=0.8)
        window.plot(
            s.bin_centres,
            s.mean_curve,
            "o-",
            color=colour,
            label=f"{r.label}: {score.observed:.2f} (null {score.mean:.2f}, "
            f"pct {score.percentile:.0f})",
        )
        window.plot(s.bin_centres, om.smoothness_null.mean_curve, ":", color=colour)
        sheet.plot(om.sheet_curve.bin_centres, om.sheet_curve.mean_curve, "o-", color=colour)
        d = om.diversity
        histogram.bar(
            d.bin_centres_deg + (i - (len(shown) - 1) / 2) * width,
            100 * d.fractions,
            width,
            color=colour,
            label=f"{r.label} (circ. var. {d.circular_variance:.2f})",
        )
    for ax in (window, sheet):
        ax.axhline(45.0, color="k", lw=0.5, ls="--")
        ax.set(xlabel="cortical distance (mm)", ylabel="|Δ preferred orientation| (deg)")
    window.set(title="V1 smoothness (dotted: shuffled)")
    sheet.set(title="whole sheet (dashed: 45 deg chance)")
    histogram.axhline(5.0, color="k", lw=0.5, ls="--")
    histogram.set(
        xlabel="preferred orientation (deg)",
        ylabel="% of analysed units",
        title="orientation diversity",
    )
    window.legend(fontsize=7)
    histogram.legend(fontsize=7)
    return _save(fig, path)


def draw_category_maps(results: list[ModelAnalysis], path: Path) -> bool:
    """Smoothed t-map per category (rows: models), patch outlines in black."""
    shown = [r for r in results if r.categories is not None]
    if not shown:
        return False
    cols = max(len(r.categories.categories) for r in shown)
    fig, axes = _panels(len(shown), cols)
    for row, r in zip(axes, shown, strict=True):
        cm = r.categories
        for ax in row[len(cm.categories) :]:
            ax.axis("off")
        for ax, name in zip(row, cm.categories, strict=False):
            t_map, patches = cm.t_maps[name], cm.patches[name]
            limit = max(float(np.abs(t_map.values).max()), 1e-6)
            image = ax.imshow(
                t_map.values,
                origin="lower",
                extent=t_map.grid.extent,
                cmap="RdBu_r",
                vmin=-limit,
                vmax=limit,
            )
            for mask in patches.masks:
                ax.contour(
                    t_map.grid.x_centres,
                    t_map.grid.y_centres,
                    mask.astype(float),
                    levels=[0.5],
                    colors="k",
                    linewidths=1,
                )
            ax.set(title=f"{r.label}: {name} ({patches.count} patches)", xlabel="x (mm)")
            fig.colorbar(image, ax=ax, label="t", shrink=0.8)
    return _save(fig, path)


def _pinwheel_caption(pinwheels) -> str:
    """The pinwheel count and density, then Lambda, each with its 95 % interval."""
    if pinwheels.resolvable:
        density = f"{pinwheels.density:.2f}{_bounds(pinwheels.density_interval)}"
        lines = [f"{pinwheels.count} pinwheels, {density} per Lambda²"]
    else:
        lines = ["pinwheels not resolvable"]
    if np.isfinite(pinwheels.column_spacing_mm):
        spacing = pinwheels.column_spacing_mm
        lines.append(f"Lambda {spacing:.2f}{_bounds(pinwheels.column_spacing_interval)} mm")
    return "\n".join(lines)


def _bounds(interval: Interval | None) -> str:
    return bracket(None if interval is None else interval.bounds, 2)


def draw_lesions(results: list[ModelAnalysis], path: Path) -> bool:
    """Left: accuracy lost on the targeted category, lesion vs random control. Right: the
    radius sweep (targeted category and mean of the others, with controls)."""
    shown = [r for r in results if r.lesions is not None]
    if not shown:
        return False
    fig, axes = _panels(len(shown), 2)
    for (bars, sweep), r in zip(axes, shown, strict=True):
        names = list(r.lesions)
        x = np.arange(len(names))
        for offset, key, span, label, colour in (
            (-0.2, "deficit", "deficit_interval", "disc lesion", "C0"),
            (0.2, "control_deficit", "control_interval", "random controls", "grey"),
        ):
            lost = np.array([getattr(r.lesions[n], key)[i] for i, n in enumerate(names)])
            bounds = np.array([getattr(r.lesions[n], span)[i] for i, n in enumerate(names)])
            error = np.abs(bounds.T - lost)
            bars.bar(x + offset, lost, 0.4, yerr=error, capsize=3, label=label, color=colour)
        for i, n in enumerate(names):
            if r.lesions[n].specific[i]:
                bars.annotate("specific", (x[i], 0), ha="center", va="bottom", fontsize=7)
        bars.set_xticks(x, names, rotation=30)
        bars.set(
            ylabel="targeted-category accuracy lost (points, 95 %)",
            title=f"{r.label}: lesions centred on each category",
        )
        bars.legend()
        k = names.index(r.sweep_category)
        radii = [e.radius_mm for e in r.sweep]
        for key, style in (("deficit", "-"), ("control_deficit", "--")):
            lost = np.array([getattr(e, key) for e in r.sweep])
            kind = "lesion" if key == "deficit" else "control"
            sweep.plot(
                radii, lost[:, k], "o" + style, color="C3", label=f"{r.sweep_category} ({kind})"
            )
            sweep.plot(
                radii,
                np.delete(lost, k, axis=1).mean(1),
                "o" + style,
                color="C0",
                label=f"other categories ({kind})",
            )
        sweep.set(
            xlabel="lesion radius (mm)",
            ylabel="accuracy lost (points)",
            title=f"{r.label}: sweep centred on {r.sweep_category}",
        )
        sweep.legend(fontsize=7)
    return _save(fig, path)


def draw_temporal(results: list[ModelAnalysis], path: Path) -> bool:
    """Accuracy vs inference T, entropy vs T per layer, rate per timestep, Fisher per step."""
    if not any(r.temporal is not None or r.fisher is not None for r in results):
        return False
    fig, axes = _panels(1, 4)
    accuracy, entropy, rates, fisher = axes[0]
    for i, r in enumerate(results):
        style = ("-", "--", ":", "-.")[i % 4]
        if r.temporal is not None:
            steps = [s.timesteps for s in r.temporal]
            accuracy.plot(steps, [s.accuracy for s in r.temporal], "o" + style, label=r.label)
            own = next(
                (s for s in r.temporal if s.timesteps == r.checkpoint.model.timesteps),
                r.temporal[-1],
            )
            for j, layer in enumerate(own.entropy_bits):
                entropy.plot(
                    steps,
                    [s.entropy_bits[layer] for s in r.temporal],
                    style,
                    color=f"C{j}",
                    label=f"{r.label} {layer}",
                )
                rates.plot(
                    np.arange(1, own.timesteps + 1),
                    own.rate_per_step[layer],
                    style,
                    color=f"C{j}",
                    label=f"{r.label} {layer}",
                )
        if r.fisher is not None:  # with its 95 % interval over the images' sources
            information = fisher_intervals(r.fisher, r.sources_of(len(r.fisher)))
            mean = np.array([i.estimate for i in information])
            bounds = np.array([[i.low, i.high] for i in information])
            steps = np.arange(1, len(mean) + 1) + 0.06 * (i - (len(results) - 1) / 2)  # apart
            fisher.errorbar(
                steps, mean, yerr=np.abs(bounds.T - mean), fmt="o" + style, capsize=3, label=r.label
            )
    accuracy.set(xlabel="inference timesteps T", ylabel="accuracy (%)", title="accuracy vs T")
    entropy.set(xlabel="inference timesteps T", ylabel="bits", title="spike-train entropy")
    rates.set(xlabel="timestep", ylabel="spikes per unit per step", title="firing rate")
    fisher.set(xlabel="timestep t", ylabel="I_t", title="Fisher information", yscale="log")
    for ax in axes[0]:
        if ax.has_data():
            ax.legend(fontsize=6)
    return _save(fig, path)


def draw_synchrony(results: list[ModelAnalysis], path: Path) -> bool:
    """Left: excess synchrony (r_CCG minus its shift predictor) vs cortical distance, with its
    95 % interval over images (band). Right: the raw r_CCG (solid) and the shift predictor
    (dashed) it is corrected by."""
    shown = [r for r in results if r.synchrony is not None]
    if not shown:
        return False
    fig, axes = _panels(1, 2)
    for i, r in enumerate(shown):
        curve, colour = r.synchrony, f"C{i}"
        label = f"{r.label} {curve.layer}"
        axes[0, 0].plot(curve.bin_centres, curve.excess_r, "o-", color=colour, label=label)
        axes[0, 0].fill_between(
            curve.bin_centres, curve.excess_low, curve.excess_high, color=colour, alpha=0.2
        )
        axes[0, 1].plot(curve.bin_centres, curve.mean_r, "o-", color=colour, label=label)
        axes[0, 1].plot(curve.bin_centres, curve.shift_r, "--", color=colour)
    axes[0, 0].axhline(0.0, color="k", lw=0.5)
    axes[0, 0].set(
        xlabel="cortical distance (mm)",
        ylabel="excess r_CCG (raw - shift predictor)",
        title="timing synchrony vs distance",
    )
    axes[0, 1].set(
        xlabel="cortical distance (mm)", ylabel="r_CCG", title="raw (solid), shift (dashed)"
    )
    axes[0, 0].legend()
    return _save(fig, path)


def draw_dimensionality(results: list[ModelAnalysis], path: Path) -> bool:
    """Effective dimensionality of the probes' responses per layer, with its 95 % interval over
    source images (bars), beside its null, the same units made independent (dashed); on a
    log scale, so a model whose layers are all silent (0) is left out."""
    shown = [
        r for r in results if any(d.estimate.full > 0 for d in (r.dimensionality or {}).values())
    ]
    if not shown:
        return False
    fig = Figure(figsize=(1.5 * PANEL, PANEL), layout="constrained")
    ax = fig.subplots()
    for i, r in enumerate(shown):
        layers = list(r.dimensionality)
        intervals = [d.interval() for d in r.dimensionality.values()]
        estimates = np.array([iv.estimate for iv in intervals])
        errors = np.abs(np.array([iv.bounds for iv in intervals]).T - estimates)
        x = np.arange(len(layers)) + 0.1 * (i - (len(shown) - 1) / 2)
        ax.errorbar(x, estimates, yerr=errors, fmt="o-", capsize=3, color=f"C{i}", label=r.label)
        null = [d.independent for d in r.dimensionality.values()]
        ax.plot(x, null, "--", color=f"C{i}", lw=1, label=f"{r.label}: units made independent")
    ax.set_xticks(np.arange(len(layers)), layers, rotation=45, ha="right")
    ax.set(ylabel="effective dimensionality", yscale="log", title="probe responses, per layer")
    ax.legend(fontsize="small", loc="center right")
    return _save(fig, path)


def draw_robustness(results: list[ModelAnalysis], path: Path) -> bool:
    """Accuracy vs perturbation strength, one panel per perturbation."""
    shown = [r for r in results if r.robustness is not None]
    if not shown:
        return False
    names = list(shown[0].robustness)
    fig, axes = _panels(1, len(names))
    for ax, name in zip(axes[0], names, strict=True):
        for r in shown:
            strengths, accuracy = zip(*r.robustness[name], strict=True)
            ax.plot(strengths, accuracy, "o-", label=r.label)
        ax.set(xlabel="strength", ylabel="accuracy (%)", title=name.replace("_", " "))
        ax.legend()
    return _save(fig, path)


FIGURES: dict[str, tuple[str, Callable[[list[ModelAnalysis], Path], bool]]] = {
    "Orientation map (V1) with pinwheels": ("orientation_map.png", draw_orientation),
    "Smoothness curves": ("smoothness.png", draw_smoothness),
    "Category t-maps (IT) with patch outlines": ("category_maps.png", draw_category_maps),
    "Lesions vs random control": ("lesions.png", draw_lesions),
    "Temporal dynamics": ("temporal.png", draw_temporal),
    "Synchrony vs cortical distance": ("synchrony.png", draw_synchrony),
    "Robustness": ("robustness.png", draw_robustness),
    "Effective dimensionality per layer": ("dimensionality.png", draw_dimensionality),
}


def draw_all(results: list[ModelAnalysis], out_dir: Path) -> dict[str, str]:
    """Draw every figure that has data; returns {caption: file name} of those written."""
    return {
        caption: name for caption, (name, draw) in FIGURES.items() if draw(results, out_dir / name)
    }
