"""Animated cortical sheets: every topographic layer's spikes binned on its sheet (the core's
:class:`~tdsnn_core.analysis.grid.SheetBins`), all sheets tiled on one canvas. Each stimulus
ships every timestep once, as uint8 (or uint16) spike counts per cell: typed arrays sent as
binary. The player switches frames in the browser (a JS callback fills one image source from
the counts and the canvas paints once), so playback makes no server round trip and costs the
same on a sheet of 3,000 or 100,000 units."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import panel as pn
import param
from bokeh.models import (
    ColorBar,
    ColumnDataSource,
    Label,
    LinearColorMapper,
    Range1d,
    Span,
)
from bokeh.plotting import figure

from tdsnn_core.analysis.grid import SheetBins, SheetGrid

MAX_CELLS = 128  # grid cells per sheet edge: a frame is at most 128 x 128 values
UNITS_PER_CELL = 3.0  # the grid is as fine as this mean occupancy allows
SHEET_PX = 230  # the figures of a sheet drawn alone (overlay maps, the lesion sheet)
TILE_PX, TITLE_PX, GAP_PX, COLUMNS = 200, 34, 14, 4  # the tiles of the sheets' canvas
TILE_COLOUR = "#1f2937"

# The player's value is the timestep, 1 to T. Fill the image of every sheet with that frame
# from the shipped counts, in place, then let the one canvas paint once.
FRAME_JS = """
const {counts, units} = frames.data;
const steps = counts[0].length / units[0].length;
if (steps === 0) return;  // no spikes shipped yet
const t = Math.min(cb_obj.value, steps) - 1;
const images = image.data.image;
for (let i = 0; i < images.length; i++) {
  const c = counts[i], u = units[i], out = images[i], n = u.length, offset = t * n;
  for (let k = 0; k < n; k++) out[k] = u[k] ? c[offset + k] / u[k] : NaN;
}
image.change.emit();
label.text = `timestep ${t + 1} of ${steps}`;
cursor.location = t + 1;
"""


def sheet_bins(positions: np.ndarray, size_mm: float) -> SheetBins:
    """The dashboard's grid on a sheet: about ``UNITS_PER_CELL`` units per cell, 4 to
    ``MAX_CELLS`` cells a side."""
    cells = int(np.clip(round(np.sqrt(len(positions) / UNITS_PER_CELL)), 4, MAX_CELLS))
    return SheetBins.of(SheetGrid.square(size_mm, cells), positions)


@dataclass(frozen=True)
class Placement:
    """Where a sheet's mm coordinates land on a figure: ``x0 + x * scale`` (figure units)."""

    x0: float = 0.0
    y0: float = 0.0
    scale: float = 1.0

    def x(self, x_mm) -> np.ndarray:
        return self.x0 + np.asarray(x_mm, float) * self.scale

    def y(self, y_mm) -> np.ndarray:
        return self.y0 + np.asarray(y_mm, float) * self.scale

    def length(self, mm) -> np.ndarray:
        return np.asarray(mm, float) * self.scale


SHEET = Placement()  # a sheet's own figure: mm as they are


@dataclass(frozen=True)
class SheetView:
    """One layer's tile on the sheets' canvas: its binning and where its [0, size_mm]^2 sits
    on the canvas (``placement``, in pixels)."""

    name: str
    area: str
    size_mm: float
    units: int
    bins: SheetBins
    placement: Placement

    @property
    def dtype(self) -> type:
        """The smallest unsigned type holding every cell's unit count (and so its spikes)."""
        return np.uint8 if self.bins.units.max() <= np.iinfo(np.uint8).max else np.uint16

    def counts(self, spikes: np.ndarray) -> np.ndarray:
        """Spikes [T, ...] -> each cell's spike count at each timestep, [T, cells, cells]."""
        return self.bins.counts(spikes).astype(self.dtype)

    def fraction(self, counts: np.ndarray) -> np.ndarray:
        """One frame's counts -> the fraction of each cell's units firing, float32 (NaN where
        a cell holds no unit), as the player's JS computes it."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.bins.units > 0, counts / self.bins.units, np.nan).astype(
                np.float32
            )


def sheet_figure(title: str, size_mm: float, name: str, px: int = SHEET_PX, **options):
    """A square figure over a sheet [0, size_mm]^2 with axes in mm."""
    fig = figure(
        title=title,
        width=px,
        height=px,
        x_range=(0, size_mm),
        y_range=(0, size_mm),
        match_aspect=True,
        tools="pan,wheel_zoom,reset,save",
        toolbar_location=None,
        x_axis_label="mm",
        name=name,
        **options,
    )
    fig.grid.visible = False
    fig.background_fill_color = TILE_COLOUR
    return fig


class SheetCanvas:
    """Every layer's sheet as a tile of one figure (one canvas) whose ranges count pixels;
    a sheet's ``placement`` puts glyphs in its mm coordinates on its tile. One image glyph
    holds every sheet's current frame (source ``sheet-image``, a row per sheet); what else
    is drawn on the sheets (titles, overlays, the lesion disc) has level "overlay": painted
    on its own layer of the canvas, left alone by a frame switch."""

    def __init__(self, layers: list[dict], colours: LinearColorMapper) -> None:
        rows = -(-len(layers) // COLUMNS)
        width = min(len(layers), COLUMNS) * (TILE_PX + GAP_PX) - GAP_PX
        height = rows * (TILE_PX + TITLE_PX + GAP_PX) - GAP_PX
        self.figure = figure(
            frame_width=width, frame_height=height, x_range=Range1d(0, width),
            y_range=Range1d(0, height), min_border=0, toolbar_location=None, tools="save",
            x_axis_type=None, y_axis_type=None, outline_line_color=None, name="sheets",
        )  # fmt: skip
        self.figure.grid.visible = False
        pitch_x, pitch_y = TILE_PX + GAP_PX, TILE_PX + TITLE_PX + GAP_PX
        corners = [  # lower-left, in pixels (y up); the first row on top
            (i % COLUMNS * pitch_x, height + GAP_PX - (i // COLUMNS + 1) * pitch_y)
            for i in range(len(layers))
        ]
        self.sheets = {
            layer["name"]: self._tile(layer, x0, y0)
            for layer, (x0, y0) in zip(layers, corners, strict=True)
        }
        x0, y0 = (np.array(c, float) for c in zip(*corners, strict=True))
        self.figure.quad(
            left=x0, right=x0 + TILE_PX, bottom=y0, top=y0 + TILE_PX, fill_color=TILE_COLOUR,
            line_color=None, level="image",
        )  # fmt: skip
        blank = [np.full(s.bins.grid.shape, np.nan, np.float32) for s in self.sheets.values()]
        names = list(self.sheets)
        self.image = ColumnDataSource(
            {"image": blank, "layer": names, "x": x0, "y": y0, "dw": [TILE_PX] * len(names),
             "dh": [TILE_PX] * len(names)},
            name="sheet-image",
        )  # fmt: skip
        self.figure.image(
            "image", x="x", y="y", dw="dw", dh="dh", source=self.image, color_mapper=colours,
            level="image",
        )  # fmt: skip
        titles = ColumnDataSource(
            {
                "x": x0,
                "y": y0 + TILE_PX + 4,
                "text": [
                    f"{s.area} · {s.name}\n{s.units:,} units · {s.size_mm:g} mm"
                    for s in self.sheets.values()
                ],
            },
            name="sheet-titles",
        )
        self.figure.text(
            "x", "y", "text", source=titles, text_font_size="12px", text_baseline="bottom",
            text_color="#111827", level="overlay",
        )  # fmt: skip
        self.disc = ColumnDataSource(
            {k: [] for k in ("x", "y", "r", "layer", "x_mm", "y_mm", "r_mm")}, name="sheet-disc"
        )
        self.figure.circle(
            "x", "y", radius="r", source=self.disc, fill_color="#22d3ee", fill_alpha=0.15,
            line_color="#22d3ee", line_width=2, line_dash="dashed", level="overlay",
        )  # fmt: skip

    def _tile(self, layer: dict, x0: float, y0: float) -> SheetView:
        """The sheet of ``layer`` on the tile with lower-left corner (x0, y0) px."""
        size = layer["size_mm"]
        return SheetView(
            name=layer["name"], area=layer["area"], size_mm=size, units=layer["units"],
            bins=sheet_bins(layer["positions"], size),
            placement=Placement(x0, y0, TILE_PX / size),
        )  # fmt: skip

    def mark_disc(self, layer: str | None, disc: tuple[float, float, float] | None) -> None:
        """Draw (x, y, radius in mm) on ``layer``'s sheet as the silenced disc, or nothing."""
        if layer is None or disc is None:
            self.disc.data = {k: [] for k in self.disc.data}
            return
        (x, y, r), place = disc, self.sheets[layer].placement
        self.disc.data = {
            "x": [float(place.x(x))], "y": [float(place.y(y))], "r": [float(place.length(r))],
            "layer": [layer],
            "x_mm": [x], "y_mm": [y], "r_mm": [r],
        }  # fmt: skip


class SheetPlayer(pn.viewable.Viewer):
    """Every topographic layer's sheet on one canvas, a player over timesteps 1..T (play,
    pause, step, slower, faster, loop) whose frame switches run in the browser, and the frame
    label. ``cursor`` (the firing rates' timestep marker) follows the player."""

    layers = param.List(doc="the model's topographic layers (with positions)")
    cursor = param.ClassSelector(class_=Span, doc="the timestep marker of the firing rates")

    def __init__(self, **params) -> None:
        super().__init__(**params)
        colours = LinearColorMapper(palette="Inferno256", low=0, high=1, nan_color="#00000000")
        self.canvas = SheetCanvas(self.layers, colours)
        self.sheets = self.canvas.sheets
        self.frames = ColumnDataSource(
            {
                "layer": list(self.sheets),
                "counts": [np.zeros(0, s.dtype) for s in self.sheets.values()],
                "units": [s.bins.units.ravel().astype(s.dtype) for s in self.sheets.values()],
            },
            name="sheet-frames",
        )  # fmt: skip
        self.player = pn.widgets.Player(
            label="Timestep", start=1, end=2, value=1, interval=400, loop_policy="loop",
            width=420, css_classes=["sheet-player"],
        )  # fmt: skip
        # The label is drawn in the legend's canvas: changing it repaints that canvas only
        # (the text of an HTML element would re-lay out the page at every frame).
        self.label = Label(
            x=6, y=68, x_units="screen", y_units="screen", text="", name="frame-label",
            text_font_size="14px",
        )  # fmt: skip
        self.player.jscallback(
            value=FRAME_JS,
            args={"frames": self.frames, "image": self.canvas.image, "label": self.label,
                  "cursor": self.cursor},
        )  # fmt: skip
        legend = figure(
            height=90, width=420, toolbar_location=None, min_border=0, outline_line_color=None
        )
        legend.add_layout(
            ColorBar(
                color_mapper=colours,
                orientation="horizontal",
                height=12,
                width=380,
                title="fraction of a cell's units spiking at this timestep (empty cells clear)",
            ),
            "center",
        )
        legend.add_layout(self.label)
        legend.axis.visible = legend.grid.visible = False
        self._panel = pn.Column(
            pn.Row(self.player, pn.pane.Bokeh(legend), align="center"),
            pn.pane.Bokeh(self.canvas.figure),
        )

    def __panel__(self) -> pn.viewable.Viewable:
        return self._panel

    def show(self, spikes: dict[str, np.ndarray], timesteps: int) -> None:
        """Ship new spikes {layer: [T, C, H, W]} as counts per cell and display the current
        timestep (kept if it exists)."""
        timestep = min(self.player.value, timesteps)
        counts = [view.counts(spikes[name]) for name, view in self.sheets.items()]
        self.frames.data.update(counts=[c.ravel() for c in counts])
        views = self.sheets.values()
        self.canvas.image.data.update(
            image=[v.fraction(c[timestep - 1]) for v, c in zip(views, counts, strict=True)]
        )
        self.player.param.update(end=max(timesteps, 2), value=timestep)
        self.cursor.location = timestep
        self.label.text = f"timestep {timestep} of {timesteps}"
