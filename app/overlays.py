"""Selectivity overlays: orientation preference (cyclic colours) with pinwheels marked, drawn
over a V1 sheet, and category patch outlines over an IT sheet; beside the sheets, the same maps
(with the category t-map) and their legends. Maps are fetched from the service on first use.

The glyphs on the sheets' canvas exist (hidden, empty) from the start: loading a map fills
their sources and flips visibility. A map beside the sheets is built when its map first
arrives, filled, and only then added to the page: filling a figure in the tick that adds it
fails in BokehJS ("reference ... isn't known")."""

from __future__ import annotations

import matplotlib
import numpy as np
import panel as pn
from bokeh.models import ColorBar, ColumnDataSource, LinearColorMapper
from bokeh.palettes import RdBu11
from bokeh.plotting.contour import contour_data
from bokeh.transform import factor_mark

from app.service import Service
from app.sheets import SHEET, Placement, SheetCanvas, SheetView, sheet_figure
from app.status import Status
from app.text import markdown

ORIENTATION, CATEGORY = "Orientation + pinwheels", "Category patches"
CLEAR = "#00000000"
CYCLIC = [
    matplotlib.colors.to_hex(c) for c in matplotlib.colormaps["twilight"](np.linspace(0, 1, 256))
]
PATCH_COLOUR = "#22c55e"
BESIDE_PX = 300
MAP_TITLES = {
    ORIENTATION: ("Orientation preference", "orientation"),
    CATEGORY: ("Category t-map", "category"),
}
MAP_LEGENDS = {
    ORIENTATION: "preferred orientation (deg); ▲ ▼ pinwheels (+1, -1)",
    CATEGORY: "t (category vs the rest); green: patches",
}


def grid_axes(grid: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cell centres x [nx], y [ny] and values [ny, nx] (NaN for null) of a service Grid."""
    values = np.array(grid["values"], dtype=float)
    x0, x1, y0, y1 = grid["extent_mm"]
    ny, nx = values.shape
    x = x0 + (np.arange(nx) + 0.5) * (x1 - x0) / nx
    y = y0 + (np.arange(ny) + 0.5) * (y1 - y0) / ny
    return x, y, values


def image_data(grid: dict, place: Placement = SHEET) -> dict:
    """An image source's data for a service Grid, placed at its extent."""
    x0, x1, y0, y1 = grid["extent_mm"]
    return {
        "image": [grid_axes(grid)[2]], "x": [place.x(x0)], "y": [place.y(y0)],
        "dw": [place.length(x1 - x0)], "dh": [place.length(y1 - y0)],
    }  # fmt: skip


def outline_data(labels: dict, place: Placement = SHEET) -> dict:
    """Outlines (multi-line xs, ys) of the patches of a patch-label Grid."""
    x, y, values = grid_axes(labels)
    lines = contour_data(x, y, (np.nan_to_num(values) > 0).astype(float), levels=[0.5]).line_data
    keep = [i for i, xs in enumerate(lines.xs) if len(xs)]
    return {"xs": [place.x(lines.xs[i]) for i in keep], "ys": [place.y(lines.ys[i]) for i in keep]}


class MapGlyphs:
    """An image (orientation field or t-map), pinwheel markers and patch outlines on one
    figure, empty and hidden until filled; ``options`` go to every glyph (e.g. its level)."""

    def __init__(self, fig, colours: LinearColorMapper, alpha: float, name: str, **options) -> None:
        self.image = ColumnDataSource(
            {"image": [], "x": [], "y": [], "dw": [], "dh": []}, name=f"map-image-{name}"
        )
        self.pinwheels = ColumnDataSource({"x": [], "y": [], "sign": []})
        self.outlines = ColumnDataSource({"xs": [], "ys": []}, name=f"outlines-{name}")
        image = fig.image(
            "image", x="x", y="y", dw="dw", dh="dh", source=self.image, color_mapper=colours,
            global_alpha=alpha, visible=False, **options,
        )  # fmt: skip
        dots = fig.scatter(
            "x", "y", source=self.pinwheels, size=11, fill_color="white", line_color="black",
            marker=factor_mark("sign", ["triangle", "inverted_triangle"], ["+1", "-1"]),
            visible=False, **options,
        )  # fmt: skip
        lines = fig.multi_line(
            "xs", "ys", source=self.outlines, line_color=PATCH_COLOUR, line_width=3,
            visible=False, **options,
        )  # fmt: skip
        self.renderers = {ORIENTATION: [image, dots], CATEGORY: [lines]}

    def show_orientation(self, pinwheels: dict, place: Placement = SHEET) -> None:
        self.image.data = image_data(pinwheels["orientation_field"], place)
        centres = np.array(pinwheels["centres_mm"], dtype=float).reshape(-1, 2)
        signs = ["+1" if s > 0 else "-1" for s in pinwheels["signs"]]
        self.pinwheels.data = {
            "x": place.x(centres[:, 0]), "y": place.y(centres[:, 1]), "sign": signs
        }  # fmt: skip

    def set_visible(self, kind: str, shown: bool) -> None:
        for renderer in self.renderers[kind]:
            renderer.visible = shown

    def reveal(self) -> None:
        """Every glyph visible (the maps beside the sheets: each figure shows what it holds)."""
        for kind in self.renderers:
            self.set_visible(kind, True)


class BesideMap:
    """A map beside the sheets: its own figure over the sheet it was computed on, with the
    map's glyphs and colour bar, and a summary line below."""

    def __init__(self, kind: str, colours: LinearColorMapper, sheet: SheetView) -> None:
        title, name = MAP_TITLES[kind]
        self.figure = sheet_figure(
            f"{title} · {sheet.area} {sheet.name}", sheet.size_mm, f"{name}-map", BESIDE_PX
        )
        self.glyphs = MapGlyphs(self.figure, colours, 1.0, name)
        self.glyphs.reveal()
        bar = ColorBar(color_mapper=colours, title=MAP_LEGENDS[kind], width=12, title_standoff=8)
        self.figure.add_layout(bar, "right")
        self.summary = markdown("", width=self.figure.width)  # wraps under the map
        self.panel = pn.Column(pn.pane.Bokeh(self.figure), self.summary)


class Overlays:
    """The overlay toggle, the category choice, the glyphs over the sheets, the maps beside
    (each built, filled, then added to the page when its map first arrives)."""

    def __init__(self, service: Service, status: Status, model: str, canvas: SheetCanvas):
        self.service, self.status, self.model = service, status, model
        self.sheets = canvas.sheets
        self.toggle = pn.widgets.CheckButtonGroup(
            label="Overlays", options=[ORIENTATION, CATEGORY], value=[], button_type="primary"
        )
        self.category = pn.widgets.Select(label="Category", options=[], width=200, visible=False)
        self.colours = {
            ORIENTATION: LinearColorMapper(palette=CYCLIC, low=0, high=180, nan_color=CLEAR),
            CATEGORY: LinearColorMapper(palette=RdBu11[::-1], low=-1, high=1, nan_color=CLEAR),
        }
        self.on_sheets = MapGlyphs(
            canvas.figure, self.colours[ORIENTATION], 0.55, "sheets", level="overlay"
        )
        self.beside_maps: dict[str, BesideMap] = {}  # overlay kind -> its map, once loaded
        self.beside = pn.Column()
        self.maps: dict[str, dict] = {}
        self.panel = pn.Row(self.toggle, self.category, align="center")
        self.toggle.param.watch(self._toggled, "value")
        self.category.param.watch(self._category_changed, "value")

    async def _toggled(self, event) -> None:
        for kind in set(event.new) - set(event.old) - set(self.beside_maps):
            if kind == ORIENTATION:
                message = "Computing the orientation map and pinwheels (first time per model)"
                await self.status.run(message, self._load_orientation)
            else:
                message = "Computing category t-maps and patches (first time per model)"
                await self.status.run(message, self._load_categories)
        await self.status.apply(self._show_chosen)

    def _show_chosen(self) -> None:
        for kind, beside in self.beside_maps.items():
            shown = kind in self.toggle.value
            self.on_sheets.set_visible(kind, shown)
            beside.panel.visible = shown
        self.category.visible = CATEGORY in self.toggle.value and CATEGORY in self.beside_maps

    async def _load_orientation(self) -> None:
        pinwheels = await self.service.call("maps", self.model, "pinwheels")
        await self.status.apply(lambda: self._draw_orientation(pinwheels))

    def _draw_orientation(self, pinwheels: dict) -> None:
        layer = pinwheels["layer"]
        self.on_sheets.show_orientation(pinwheels, self.sheets[layer].placement)
        beside = BesideMap(ORIENTATION, self.colours[ORIENTATION], self.sheets[layer])
        beside.glyphs.show_orientation(pinwheels)
        summaries = (smoothness_summary(pinwheels["smoothness"]), pinwheel_summary(pinwheels))
        beside.summary.object = "\n\n".join(summaries)
        self.beside_maps[ORIENTATION] = beside
        self.beside.append(beside.panel)  # filled first (see the module's docstring)

    async def _load_categories(self) -> None:
        category = await self.service.call("maps", self.model, "category")
        patches = await self.service.call("maps", self.model, "patches", category["layer"])
        await self.status.apply(lambda: self._draw_categories(category, patches))

    def _draw_categories(self, category: dict, patches: dict) -> None:
        self.maps = {
            "t": category["t_maps"],
            "labels": patches["labels"],
            "patches": patches["patches"],
            "patch_null": patches["patch_null"],
            "patch_interval": patches["patch_interval"],
            "smoothness": category["smoothness"],
            "smoothness_interval": category["smoothness_interval"],
            "layer": category["layer"],
        }
        limit = max(np.nanmax(np.abs(grid_axes(g)[2])) for g in category["t_maps"].values())
        self.colours[CATEGORY].update(low=-float(limit), high=float(limit))
        beside = BesideMap(CATEGORY, self.colours[CATEGORY], self.sheets[category["layer"]])
        self.beside_maps[CATEGORY] = beside
        self.category.options = list(category["categories"])  # selects the first: drawn
        self.beside.append(beside.panel)

    def _category_changed(self, event) -> None:
        if event.new and CATEGORY in self.beside_maps:
            self._show_category(event.new)

    def _show_category(self, name: str) -> None:
        labels = self.maps["labels"][name]
        place = self.sheets[self.maps["layer"]].placement
        self.on_sheets.outlines.data = outline_data(labels, place)
        beside = self.beside_maps[CATEGORY]
        beside.glyphs.outlines.data = outline_data(labels)
        beside.glyphs.image.data = image_data(self.maps["t"][name])
        patches = self.maps["patches"][name]
        area = sum(p["area_mm2"] for p in patches)
        null, (low, high) = self.maps["patch_null"][name], self.maps["patch_interval"][name]
        beside.summary.object = (
            f"**{name}**: {len(patches)} [{low:.0f}, {high:.0f}] patch(es), {area:.0f} mm² in "
            "total (image labels "
            f"permuted: {null['null_mean']:.1f} patches on average, p = {null['p_greater']:.2f})"
            "; "
            + category_smoothness_summary(
                self.maps["smoothness"][name], self.maps["smoothness_interval"][name]
            )
        )


def category_smoothness_summary(null: dict, interval: list | None) -> str:
    """TDANN's smoothness of a category's t-values with its 95 % interval (where one was
    measured), beside maps with them shuffled."""
    if null["observed"] is None or null["percentile"] is None:
        return "smoothness not measurable"
    own = "" if interval is None else f" [{interval[0]:.2f}, {interval[1]:.2f}]"
    return (
        f"smoothness {null['observed']:.2f}{own} (t-values shuffled across units: percentile "
        f"{null['percentile']:.0f}, p = {null['p_greater']:.2f})"
    )


def smoothness_summary(smoothness: dict) -> str:
    """TDANN's smoothness of the map's analysed units with its interval over sheet tiles,
    beside maps with the preferences shuffled."""
    if smoothness["score"] is None or smoothness["null_percentile"] is None:
        return "smoothness not measurable"
    score = f"{smoothness['score']:.2f}{_interval_text(smoothness['interval'])}"
    null = smoothness["null_interval"]
    spread = f", their 95 % up to {null[1]:.2f}" if null else ""
    return (
        f"smoothness {score} (shuffled preferences: percentile "
        f"{smoothness['null_percentile']:.0f}{spread})"
    )


def pinwheel_summary(pinwheels: dict) -> str:
    """The pinwheel count with its density per column spacing squared and its interval, or why
    the map cannot resolve pinwheels (then the marked points are not a measurement)."""
    if not pinwheels["resolvable"]:
        return f"pinwheels not resolvable: {pinwheels['reason']}"
    density = f"{pinwheels['density']:.2f}{_interval_text(pinwheels['density_interval'])}"
    spacing = (
        f"{pinwheels['column_spacing_mm']:.2f}"
        f"{_interval_text(pinwheels['column_spacing_interval'])}"
    )
    null = 100 * pinwheels["null_resolvable_fraction"]
    return (
        f"{pinwheels['count']} pinwheels, {density} per Λ² (Λ = {spacing} mm; random "
        f"band-limited maps: π; shuffled maps resolvable: {null:.0f} %)"
    )


def _interval_text(bounds: list[float] | None) -> str:
    """' [95 %: low, high]' of the service's interval, or nothing where it gave none."""
    return f" [95 %: {bounds[0]:.2f}, {bounds[1]:.2f}]" if bounds else ""
