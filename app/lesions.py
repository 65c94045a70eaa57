"""Lesion experiments: pick a layer, click its sheet to centre a disc, set the radius and run;
per-category accuracy before and after, beside a random control lesion of as many units.
"Re-run the stimulus with this lesion" shows the lesion's effect on the spike maps."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import numpy as np
import panel as pn
from bokeh.events import Tap
from bokeh.models import ColumnDataSource, FactorRange, Legend, LegendItem
from bokeh.plotting import figure
from bokeh.transform import factor_cmap

from app.service import Service
from app.sheets import SheetCanvas, sheet_figure
from app.status import Status
from app.text import markdown

CONDITIONS = ("before", "after", "control")
KEYS = ("before", "after", "control_after")  # of the service's answer, per condition
CONDITION_COLOURS = ("#64748b", "#dc2626", "#f59e0b")


class LesionView:
    """Lesion controls, the chosen layer's units with the disc, and the accuracy bars."""

    def __init__(
        self,
        service: Service,
        status: Status,
        model: str,
        layers: list[dict],
        canvas: SheetCanvas,
        on_apply: Callable[[], Awaitable[None]],
    ) -> None:
        self.service, self.status, self.model = service, status, model
        self.canvas, self.on_apply = canvas, on_apply
        self.layers = {layer["name"]: layer for layer in layers}
        it = [name for name, layer in self.layers.items() if layer["area"] == "IT"]
        self.layer = pn.widgets.Select(
            label="Layer",
            options={f"{v['area']} · {name}": name for name, v in self.layers.items()},
            value=(it or list(self.layers))[-1],
        )
        self.radius = pn.widgets.FloatSlider(label="Radius (mm)", start=0, end=1, step=0.1)
        self.run_button = pn.widgets.Button(label="Run lesion", button_type="primary")
        self.apply = pn.widgets.Toggle(
            label="Re-run the stimulus with this lesion", button_type="warning"
        )
        self.units = ColumnDataSource({"x": [], "y": []}, name="lesion-units")
        self.disc = ColumnDataSource({"x": [], "y": [], "r": []}, name="lesion-disc")
        self.figure = sheet_figure("", 1.0, name="lesion-sheet", px=420)
        self.figure.toolbar_location = None
        self.figure.scatter("x", "y", source=self.units, size=3, color="#cbd5e1", alpha=0.7)
        self.figure.circle(
            "x", "y", radius="r", source=self.disc, fill_color="#22d3ee", fill_alpha=0.25,
            line_color="#22d3ee", line_width=2,
        )  # fmt: skip
        self.figure.on_event(Tap, self._tapped)
        self.bars = ColumnDataSource({"x": [], "accuracy": []}, name="lesion-bars")
        self.chart = figure(
            title="Per-category accuracy", x_range=FactorRange(), height=380, width=760,
            y_range=(0, 105), y_axis_label="accuracy (%)", toolbar_location=None,
            name="lesion-chart",
        )  # fmt: skip
        bars = self.chart.vbar(
            x="x", top="accuracy", width=0.9, source=self.bars, line_color=None,
            fill_color=factor_cmap("x", CONDITION_COLOURS, CONDITIONS, start=1, end=2),
        )  # fmt: skip
        labels = ("before", "after the disc lesion", "after a random control lesion")
        items = [LegendItem(label=t, renderers=[bars], index=i) for i, t in enumerate(labels)]
        self.chart.add_layout(Legend(items=items, orientation="horizontal"), "above")
        self.chart.xaxis.major_label_orientation = 0.9
        self.chart.xgrid.grid_line_color = None
        self.summary = markdown(
            "Click the sheet to centre the disc, set its radius, then **Run lesion**.",
            name="lesion-summary",
        )
        self.deficits = markdown(name="lesion-deficits")
        self.layer.param.watch(self._layer_changed, "value")
        self.radius.param.watch(self._disc_changed, "value")
        self.radius.param.watch(self._reapply, "value_throttled")
        self.run_button.on_click(self._run)
        self.apply.param.watch(self._applied, "value")
        self._layer_changed()
        controls = pn.Column(self.layer, self.radius, self.run_button, self.apply, width=320)
        self.panel = pn.Column(
            pn.Row(controls, pn.pane.Bokeh(self.figure)),
            self.summary,
            pn.pane.Bokeh(self.chart),
            self.deficits,
        )

    def active(self) -> dict | None:
        """The lesion of spikes requests ({layer, x_mm, y_mm, radius_mm}) while applied."""
        if not self.apply.value:
            return None
        (x,), (y,), (r,) = self.disc.data["x"], self.disc.data["y"], self.disc.data["r"]
        return {"layer": self.layer.value, "x_mm": x, "y_mm": y, "radius_mm": r}

    def _layer_changed(self, _event=None) -> None:
        layer = self.layers[self.layer.value]
        size, positions = layer["size_mm"], layer["positions"]
        self.units.data = {"x": positions[:, 0], "y": positions[:, 1]}
        self.figure.title.text = f"{layer['area']} · {layer['name']}: click to centre the disc"
        for axis in (self.figure.x_range, self.figure.y_range):
            axis.update(start=0, end=size)
        self.disc.data = {"x": [size / 2], "y": [size / 2], "r": [size / 8]}
        self.radius.param.update(end=size / 2, step=size / 200, value=size / 8)
        self._mark_sheets()

    def _set_disc(self, x: float, y: float) -> None:
        self.disc.data = {"x": [x], "y": [y], "r": [self.radius.value]}
        self._mark_sheets()

    def _disc_changed(self, _event) -> None:
        self._set_disc(self.disc.data["x"][0], self.disc.data["y"][0])

    def _tapped(self, event: Tap) -> None:
        self._set_disc(float(event.x), float(event.y))
        pn.state.execute(self._reapply)

    async def _reapply(self, _event=None) -> None:
        if self.apply.value:
            await self.on_apply()

    async def _applied(self, _event) -> None:
        await self.status.apply(self._mark_sheets)
        await self.on_apply()

    def _mark_sheets(self) -> None:
        """The disc on the spike sheet of the lesioned layer while the lesion is applied."""
        lesion = self.active()
        if lesion is None:
            self.canvas.mark_disc(None, None)
        else:
            disc = (lesion["x_mm"], lesion["y_mm"], lesion["radius_mm"])
            self.canvas.mark_disc(lesion["layer"], disc)

    async def _run(self, _event) -> None:
        (x,), (y,), (r,) = self.disc.data["x"], self.disc.data["y"], self.disc.data["r"]
        layer = self.layer.value

        async def work() -> None:
            result = await self.service.call(
                "lesion", self.model, layer, centre_mm=(x, y), radius_mm=r
            )
            await self.status.apply(lambda: self._show(result))

        self.run_button.disabled = True
        message = f"Running the lesion of {layer} (scoring before, after and a random control)"
        await self.status.run(message, work)
        self.run_button.disabled = False

    def _show(self, result: dict) -> None:
        categories = result["categories"]
        values = {c: result[k] for c, k in zip(CONDITIONS, KEYS, strict=True)}
        self.chart.x_range.factors = [(cat, c) for cat in categories for c in CONDITIONS]
        self.bars.data = {
            "x": [(cat, c) for cat in categories for c in CONDITIONS],
            "accuracy": [values[c][i] for i in range(len(categories)) for c in CONDITIONS],
        }
        mean = {c: float(np.mean(v)) for c, v in values.items()}
        self.summary.object = (
            f"**{result['units']} units** of {result['layer']} silenced within "
            f"{result['radius_mm']:.1f} mm of ({result['centre_mm'][0]:.1f}, "
            f"{result['centre_mm'][1]:.1f}) mm · mean accuracy before {mean['before']:.1f} %, "
            f"after {mean['after']:.1f} %, random control (same number of units) "
            f"{mean['control']:.1f} % · scorer: {result['scorer']}"
        )
        self.deficits.object = deficit_table(result)


def deficit_table(result: dict) -> str:
    """Markdown: each category's deficit beside its null, the random control lesions (mean
    deficit and 95 % interval, and the deficit's rank among them), and whether it is specific."""
    rows = [
        "| category | deficit, points [95 %] | random control, points [95 %] | "
        f"p (rank among {result['n_controls']} controls) | specific |",
        "|---|---|---|---|---|",
    ]
    for k, category in enumerate(result["categories"]):
        (low, high), (c_low, c_high) = result["deficit_interval"][k], result["control_interval"][k]
        rows.append(
            f"| {category} | {result['deficit'][k]:+.1f} [{low:+.1f}, {high:+.1f}] | "
            f"{result['control_deficit'][k]:+.1f} [{c_low:+.1f}, {c_high:+.1f}] | "
            f"{result['control_p'][k]:.2f} | {'yes' if result['specific'][k] else 'no'} |"
        )
    rows.append(
        "\n*Specific*: the deficit's interval lies above the control's. Intervals resample "
        "source images (variants of one photo are not independent)."
    )
    return "\n".join(rows)
