"""Selectivity overlays: orientation preference (cyclic colours) with pinwheels marked, drawn
over a V1 sheet, and category patch outlines over an IT sheet; beside the sheets, the same maps
(with the category t-map) and their legends. Maps are fetched from the service on first use.

Every glyph exists (hidden, empty) from the start: loading a map only fills data sources and
flips visibility, so the browser never receives new models in the middle of a session."""

from __future__ import annotations

import matplotlib
import numpy as np
import panel as pn
from bokeh.models import ColorBar, ColumnDataSource, LinearColorMapper
from bokeh.palettes import RdBu11
from bokeh.plotting.contour import contour_data
from bokeh.transform import factor_mark

from app.service import Service
from app.sheets import SheetView, sheet_figure
from app.status import Status

ORIENTATION, CATEGORY = "Orientation + pinwheels", "Category patches"
CLEAR = "#00000000"
CYCLIC = [
    matplotlib.colors.to_hex(c) for c in matplotlib.colormaps["twilight"](np.linspace(0, 1, 256))
]
PATCH_COLOUR = "#22c55e"
BESIDE_PX = 300


def grid_axes(grid: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cell centres x [nx], y [ny] and values [ny, nx] (NaN for null) of a service Grid."""
    values = np.array(grid["values"], dtype=float)
    x0, x1, y0, y1 = grid["extent_mm"]
    ny, nx = values.shape
    x = x0 + (np.arange(nx) + 0.5) * (x1 - x0) / nx
    y = y0 + (np.arange(ny) + 0.5) * (y1 - y0) / ny
    return x, y, values


def image_data(grid: dict) -> dict:
    """An image source's data for a service Grid, placed at its extent."""
    x0, x1, y0, y1 = grid["extent_mm"]
    return {"image": [grid_axes(grid)[2]], "x": [x0], "y": [y0], "dw": [x1 - x0], "dh": [y1 - y0]}


def outline_data(labels: dict) -> dict:
    """Outlines (multi-line xs, ys) of the patches of a patch-label Grid."""
    x, y, values = grid_axes(labels)
    lines = contour_data(x, y, (np.nan_to_num(values) > 0).astype(float), levels=[0.5]).line_data
    keep = [i for i, xs in enumerate(lines.xs) if len(xs)]
    return {"xs": [lines.xs[i] for i in keep], "ys": [lines.ys[i] for i in keep]}


class MapGlyphs:
    """An image (orientation field or t-map), pinwheel markers and patch outlines on one
    figure, empty and hidden until filled."""

    def __init__(self, fig, colours: LinearColorMapper, alpha: float, name: str) -> None:
        self.image = ColumnDataSource(
            {"image": [], "x": [], "y": [], "dw": [], "dh": []}, name=f"map-image-{name}"
        )
        self.pinwheels = ColumnDataSource({"x": [], "y": [], "sign": []})
        self.outlines = ColumnDataSource({"xs": [], "ys": []}, name=f"outlines-{name}")
        image = fig.image(
            "image", x="x", y="y", dw="dw", dh="dh", source=self.image, color_mapper=colours,
            global_alpha=alpha, visible=False,
        )  # fmt: skip
        dots = fig.scatter(
            "x", "y", source=self.pinwheels, size=11, fill_color="white", line_color="black",
            marker=factor_mark("sign", ["triangle", "inverted_triangle"], ["+1", "-1"]),
            visible=False,
        )  # fmt: skip
        lines = fig.multi_line(
            "xs", "ys", source=self.outlines, line_color=PATCH_COLOUR, line_width=3, visible=False
        )
        self.renderers = {ORIENTATION: [image, dots], CATEGORY: [lines]}

    def show_orientation(self, pinwheels: dict) -> None:
        self.image.data = image_data(pinwheels["orientation_field"])
        centres = np.array(pinwheels["centres_mm"], dtype=float).reshape(-1, 2)
        signs = ["+1" if s > 0 else "-1" for s in pinwheels["signs"]]
        self.pinwheels.data = {"x": centres[:, 0], "y": centres[:, 1], "sign": signs}

    def set_visible(self, kind: str, shown: bool) -> None:
        for renderer in self.renderers[kind]:
            renderer.visible = shown

    def reveal(self) -> None:
        """Every glyph visible (the maps beside the sheets: each figure shows what it holds)."""
        for kind in self.renderers:
            self.set_visible(kind, True)


class Overlays:
    """The overlay toggle, the category choice, the glyphs over the sheets, the maps beside."""

    def __init__(self, service: Service, status: Status, model: str, sheets: dict[str, SheetView]):
        self.service, self.status, self.model, self.sheets = service, status, model, sheets
        self.toggle = pn.widgets.CheckButtonGroup(
            name="Overlays", options=[ORIENTATION, CATEGORY], value=[], button_type="primary"
        )
        self.category = pn.widgets.Select(name="Category", options=[], width=200, visible=False)
        orientation = LinearColorMapper(palette=CYCLIC, low=0, high=180, nan_color=CLEAR)
        self.t_colours = LinearColorMapper(palette=RdBu11[::-1], low=-1, high=1, nan_color=CLEAR)
        self.on_sheets = {
            name: MapGlyphs(sheet.figure, orientation, 0.55, name) for name, sheet in sheets.items()
        }
        self.figures = {
            ORIENTATION: sheet_figure("Orientation preference", 1, "orientation-map", BESIDE_PX),
            CATEGORY: sheet_figure("Category t-map", 1, "category-map", BESIDE_PX),
        }
        self.beside_glyphs = {
            ORIENTATION: MapGlyphs(self.figures[ORIENTATION], orientation, 1.0, "orientation"),
            CATEGORY: MapGlyphs(self.figures[CATEGORY], self.t_colours, 1.0, "category"),
        }
        for kind, mapper, title in (
            (ORIENTATION, orientation, "preferred orientation (deg); ▲ ▼ pinwheels (+1, -1)"),
            (CATEGORY, self.t_colours, "t (category vs the rest); green: patches"),
        ):
            bar = ColorBar(color_mapper=mapper, title=title, width=12, title_standoff=8)
            self.figures[kind].add_layout(bar, "right")
            self.beside_glyphs[kind].reveal()
        self.summaries = {kind: pn.pane.Markdown("") for kind in self.figures}
        self.panels = {
            kind: pn.Column(pn.pane.Bokeh(fig), self.summaries[kind], visible=False)
            for kind, fig in self.figures.items()
        }
        self.beside = pn.Column(*self.panels.values())
        self.layers: dict[str, str] = {}  # overlay kind -> layer it was computed on
        self.maps: dict[str, dict] = {}
        self.panel = pn.Row(self.toggle, self.category, align="center")
        self.toggle.param.watch(self._toggled, "value")
        self.category.param.watch(self._category_changed, "value")

    async def _toggled(self, event) -> None:
        for kind in set(event.new) - set(event.old) - set(self.layers):
            if kind == ORIENTATION:
                message = "Computing the orientation map and pinwheels (first time per model)"
                await self.status.run(message, self._load_orientation)
            else:
                message = "Computing category t-maps and patches (first time per model)"
                await self.status.run(message, self._load_categories)
        await self.status.apply(self._show_chosen)

    def _show_chosen(self) -> None:
        for kind, layer in self.layers.items():
            shown = kind in self.toggle.value
            self.on_sheets[layer].set_visible(kind, shown)
            self.panels[kind].visible = shown
        self.category.visible = CATEGORY in self.toggle.value and CATEGORY in self.layers

    def _place(self, kind: str, layer: str) -> None:
        """Frame the beside figure of ``kind`` on ``layer``'s sheet."""
        sheet, fig = self.sheets[layer], self.figures[kind]
        fig.title.text = f"{fig.title.text} · {sheet.area} {layer}"
        for axis in (fig.x_range, fig.y_range):
            axis.update(start=0, end=sheet.size_mm)
        self.layers[kind] = layer

    async def _load_orientation(self) -> None:
        pinwheels = await self.service.call("maps", self.model, "pinwheels")
        await self.status.apply(lambda: self._draw_orientation(pinwheels))

    def _draw_orientation(self, pinwheels: dict) -> None:
        for glyphs in (self.on_sheets[pinwheels["layer"]], self.beside_glyphs[ORIENTATION]):
            glyphs.show_orientation(pinwheels)
        self._place(ORIENTATION, pinwheels["layer"])
        self.summaries[ORIENTATION].object = pinwheel_summary(pinwheels)

    async def _load_categories(self) -> None:
        category = await self.service.call("maps", self.model, "category")
        patches = await self.service.call("maps", self.model, "patches", category["layer"])
        await self.status.apply(lambda: self._draw_categories(category, patches))

    def _draw_categories(self, category: dict, patches: dict) -> None:
        self.maps = {
            "t": category["t_maps"],
            "labels": patches["labels"],
            "patches": patches["patches"],
        }
        limit = max(np.nanmax(np.abs(grid_axes(g)[2])) for g in category["t_maps"].values())
        self.t_colours.update(low=-float(limit), high=float(limit))
        self._place(CATEGORY, category["layer"])
        self.category.options = list(category["categories"])  # selects the first: drawn

    def _category_changed(self, event) -> None:
        if event.new and CATEGORY in self.layers:
            self._show_category(event.new)

    def _show_category(self, name: str) -> None:
        outlines = outline_data(self.maps["labels"][name])
        self.on_sheets[self.layers[CATEGORY]].outlines.data = outlines
        beside = self.beside_glyphs[CATEGORY]
        beside.outlines.data = outlines
        beside.image.data = image_data(self.maps["t"][name])
        patches = self.maps["patches"][name]
        area = sum(p["area_mm2"] for p in patches)
        self.summaries[
            CATEGORY
        ].object = f"**{name}**: {len(patches)} patch(es), {area:.0f} mm² in total"


def pinwheel_summary(pinwheels: dict) -> str:
    """The pinwheel count with its density per column spacing squared, or why the map cannot
    resolve pinwheels (then the marked points are not a measurement)."""
    if not pinwheels["resolvable"]:
        return f"pinwheels not resolvable: {pinwheels['reason']}"
    return (
        f"{pinwheels['count']} pinwheels, {pinwheels['density']:.2f} per Λ² "
        f"(Λ = {pinwheels['column_spacing_mm']:.2f} mm; random band-limited maps: π)"
    )
