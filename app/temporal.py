"""Temporal view: the fraction of each layer's units spiking at each timestep."""

from __future__ import annotations

import numpy as np
from bokeh.models import ColumnDataSource, Legend, Span
from bokeh.palettes import Category10_10
from bokeh.plotting import figure


class FiringRates:
    """One line per topographic layer over timesteps; ``cursor`` (:func:`timestep_cursor`)
    marks the player's frame."""

    def __init__(self, layers: list[dict], cursor: Span) -> None:
        self.columns = {layer["name"]: f"layer_{i}" for i, layer in enumerate(layers)}
        self.source = ColumnDataSource(
            {"t": [], **{c: [] for c in self.columns.values()}}, name="temporal-rates"
        )
        self.figure = figure(
            title="Firing rate per layer per timestep",
            height=360,
            width=760,
            x_axis_label="timestep",
            y_axis_label="fraction of units spiking",
            toolbar_location="right",
            tools="pan,wheel_zoom,reset,save,hover",
            name="temporal",
        )
        items = []
        for i, layer in enumerate(layers):
            colour = Category10_10[i % 10]
            column = self.columns[layer["name"]]
            line = self.figure.line("t", column, source=self.source, color=colour, line_width=2)
            dots = self.figure.scatter("t", column, source=self.source, color=colour, size=7)
            items.append((f"{layer['area']} · {layer['name']}", [line, dots]))
        self.figure.add_layout(Legend(items=items, click_policy="hide"), "right")
        self.figure.xaxis.ticker.desired_num_ticks = 8
        self.figure.add_layout(cursor)

    def show(self, spikes: dict[str, np.ndarray], timesteps: int) -> None:
        """Rates of spikes {layer: [T, C, H, W]}."""
        data = {"t": np.arange(1, timesteps + 1)}
        for name, column in self.columns.items():
            data[column] = spikes[name].reshape(timesteps, -1).mean(axis=1)
        self.source.data = data


def timestep_cursor() -> Span:
    """The dashed line at the player's timestep (the player moves it before the firing rates
    are first drawn)."""
    return Span(location=1, dimension="height", line_dash="dashed", line_color="grey")
