"""Animated cortical sheets: each layer's spikes binned on its sheet, every timestep shipped to
the browser once; the player switches frames in the browser (a JS callback), so playback makes
no server round trip and costs the same on a sheet of 3,000 or 100,000 units."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import panel as pn
from bokeh.models import ColorBar, ColumnDataSource, Label, LinearColorMapper, Span
from bokeh.plotting import figure

MAX_CELLS = 128  # grid cells per sheet edge: a frame is at most 128 x 128 values
UNITS_PER_CELL = 3.0  # the grid is as fine as this mean occupancy allows
SHEET_PX = 230

# The player's value is the timestep, 1 to T; frames are 0-based.
FRAME_JS = """
const n = frames[0].data.frame.length;
const t = Math.min(cb_obj.value, n) - 1;
for (let i = 0; i < images.length; i++) {
  images[i].data = {image: [frames[i].data.frame[t]]};
}
label.text = `timestep ${t + 1} of ${n}`;
cursor.location = t + 1;
"""


@dataclass(frozen=True)
class Binning:
    """Each unit's cell on a ``cells`` x ``cells`` grid over its square sheet [0, size_mm]^2
    (rows follow y), and the number of units in each cell."""

    cells: int
    size_mm: float
    cell_of_unit: np.ndarray
    units_per_cell: np.ndarray

    @classmethod
    def of(cls, positions: np.ndarray, size_mm: float) -> Binning:
        cells = int(np.clip(round(np.sqrt(len(positions) / UNITS_PER_CELL)), 4, MAX_CELLS))
        col, row = np.clip((positions / size_mm * cells).astype(int), 0, cells - 1).T
        cell = row * cells + col
        return cls(cells, size_mm, cell, np.bincount(cell, minlength=cells * cells))

    def frames(self, spikes: np.ndarray) -> np.ndarray:
        """Spikes [T, units] -> fraction of each cell's units firing, float32 [T, cells, cells]
        (NaN where a cell holds no unit)."""
        steps, n = len(spikes), self.cells * self.cells
        index = self.cell_of_unit[None, :] + n * np.arange(steps)[:, None]
        fired = np.bincount(
            index.ravel(), weights=spikes.reshape(steps, -1).ravel(), minlength=steps * n
        )
        with np.errstate(invalid="ignore"):
            fraction = fired.reshape(steps, n) / self.units_per_cell
        return fraction.reshape(steps, self.cells, self.cells).astype(np.float32)


class SheetView:
    """One layer's sheet: a figure (title "area · layer") whose image shows one frame; its
    ``frames`` source holds every timestep. Overlays and the lesion disc draw on ``figure``."""

    def __init__(self, layer: dict, colours: LinearColorMapper) -> None:
        self.name, self.area, self.size_mm = layer["name"], layer["area"], layer["size_mm"]
        self.binning = Binning.of(layer["positions"], self.size_mm)
        blank = np.full((self.binning.cells, self.binning.cells), np.nan, np.float32)
        self.image = ColumnDataSource({"image": [blank]}, name=f"sheet-image-{self.name}")
        self.frames = ColumnDataSource({"frame": [blank]}, name=f"sheet-frames-{self.name}")
        self.figure = sheet_figure(
            f"{self.area} · {self.name} ({layer['units']:,} units)",
            self.size_mm,
            name=f"sheet-{self.name}",
        )
        self.figure.image(
            "image",
            x=0,
            y=0,
            dw=self.size_mm,
            dh=self.size_mm,
            source=self.image,
            color_mapper=colours,
        )
        self.disc = ColumnDataSource({"x": [], "y": [], "r": []}, name=f"sheet-disc-{self.name}")
        self.figure.circle(
            "x",
            "y",
            radius="r",
            source=self.disc,
            fill_color="#22d3ee",
            fill_alpha=0.15,
            line_color="#22d3ee",
            line_width=2,
            line_dash="dashed",
        )

    def show(self, spikes: np.ndarray, timestep: int) -> None:
        """Ship every frame of ``spikes`` [T, ...] and display ``timestep``."""
        frames = self.binning.frames(spikes.reshape(len(spikes), -1))
        self.frames.data = {"frame": list(frames)}
        self.image.data = {"image": [frames[timestep]]}

    def mark_disc(self, disc: tuple[float, float, float] | None) -> None:
        """Draw (x, y, radius in mm) as the silenced disc, or nothing."""
        x, y, r = ([v] for v in disc) if disc else ([], [], [])
        self.disc.data = {"x": x, "y": y, "r": r}


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
    fig.background_fill_color = "#1f2937"
    return fig


class SheetPlayer:
    """Every topographic layer's sheet, a player over timesteps 1..T (play, pause, step,
    slower, faster, loop) whose frame switches run in the browser, and the frame label."""

    def __init__(self, layers: list[dict], cursor: Span) -> None:
        colours = LinearColorMapper(palette="Inferno256", low=0, high=1, nan_color="#00000000")
        self.sheets = {layer["name"]: SheetView(layer, colours) for layer in layers}
        self.player = pn.widgets.Player(
            name="Timestep",
            start=1,
            end=2,
            value=1,
            interval=400,
            loop_policy="loop",
            width=420,
            css_classes=["sheet-player"],
        )
        # The label is drawn in the legend's canvas: changing it repaints that canvas only
        # (the text of an HTML element would re-lay out the page at every frame).
        self.label = Label(
            x=6, y=68, x_units="screen", y_units="screen", text="", name="frame-label",
            text_font_size="14px",
        )  # fmt: skip
        self.player.jscallback(
            value=FRAME_JS,
            args={
                "images": [s.image for s in self.sheets.values()],
                "frames": [s.frames for s in self.sheets.values()],
                "label": self.label,
                "cursor": cursor,
            },
        )
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
        self.panel = pn.Column(
            pn.Row(self.player, pn.pane.Bokeh(legend), align="center"),
            pn.GridBox(*(pn.pane.Bokeh(s.figure) for s in self.sheets.values()), ncols=4),
        )

    def show(self, spikes: dict[str, np.ndarray], timesteps: int) -> None:
        """Display new spikes {layer: [T, C, H, W]}, keeping the current timestep if it exists."""
        timestep = min(self.player.value, timesteps)
        for name, view in self.sheets.items():
            view.show(spikes[name], timestep - 1)
        self.player.param.update(end=max(timesteps, 2), value=timestep)
        self.label.text = f"timestep {timestep} of {timesteps}"
