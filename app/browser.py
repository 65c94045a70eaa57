"""Driving the dashboard in Debian's headless Chromium with Playwright (sync API): used by the
browser tests (tests/app) and ``bench/dashboard.py``. Reads the page's Bokeh models by name."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# window.tdsnn: the page's named Bokeh models; sheet frames as plain arrays (NaN as null),
# decoded from the shipped counts per cell and units per cell.
HELPERS_JS = """
window.tdsnn = {
  model: (name) => window.Bokeh && Bokeh.documents.length
    ? Bokeh.documents[0].get_model_by_name(name) : null,
  text: (name) => { const m = window.tdsnn.model(name); return m ? m.text : null; },
  plain: (values) => Array.from(values, (v) => (Number.isNaN(v) ? null : v)),
  frames: () => {
    const {layer, counts, units} = window.tdsnn.model("sheet-frames").data;
    return Object.fromEntries(layer.map((name, i) => {
      const u = units[i], n = u.length, steps = counts[i].length / n;
      return [name, Array.from({length: steps}, (_, t) =>
        Array.from(u, (units, k) => (units ? counts[i][t * n + k] / units : null)))];
    }));
  },
  shown: (layer) => {
    const {data} = window.tdsnn.model("sheet-image");
    return window.tdsnn.plain(data.image[data.layer.indexOf(layer)]);
  },
  error: () => {
    if (!window.Bokeh || !Bokeh.index) return null;
    const alert = Bokeh.index.query_one((v) => v.model.css_classes?.includes("error-alert"));
    return alert && alert.model.visible ? (alert.shadow_el ?? alert.el).textContent.trim() : null;
  },
  view: (name) => Bokeh.index.query_one((v) => v.model.name === name),
  // The sheets' canvas: null while it has no view; true once it has painted what it holds
  // (or is out of sight, e.g. in a closed tab); false while a paint is pending.
  drawn: () => {
    const view = window.Bokeh && Bokeh.index ? window.tdsnn.view("sheets") : null;
    if (view == null) return null;
    const pending = view._invalidate_all || view._invalidated_painters.size > 0;
    return !view.is_displayed || (view._render_count > 0 && !pending);
  },
  screen: (name, x, y) => {
    const view = window.tdsnn.view(name);
    const box = view.el.getBoundingClientRect();
    return [box.left + view.frame.x_scale.compute(x), box.top + view.frame.y_scale.compute(y)];
  },
};
"""
# A new stimulus label ({label}) with the sheets drawn (on a first load: the canvas has a
# view), or a new error in the page's alert ({error}).
STIMULUS_SHOWN_JS = """([previous, stale]) => {
  const text = window.tdsnn.text("stimulus-label");
  const drawn = window.tdsnn.drawn();
  const shown = drawn === true || (drawn === null && previous !== null);
  if (text !== null && text !== "" && text !== previous && shown) return {label: text};
  const error = window.tdsnn.error();
  return error !== null && error !== stale ? {error} : false;
}"""
# Player frame switches, each painted at once: the value changes (the JS callback fills every
# sheet's frame), then the sheets' canvas is repainted.
FRAME_SWITCH_JS = """async (steps) => {
  const doc = Bokeh.documents[0];
  const player = [...doc._all_models.values()].find((m) => m.type.endsWith("Player"));
  const sheets = Bokeh.index.query_one((v) => v.model.name === "sheets");
  const times = [];
  for (let i = 0; i < steps; i++) {
    await new Promise((resolve) => requestAnimationFrame(resolve));
    const start = performance.now();
    player.value = player.value === player.end ? player.start : player.value + 1;
    sheets.repaint();
    times.push(performance.now() - start);
  }
  return times;
}"""


class PageError(RuntimeError):
    """The dashboard showed an error (the text of its alert), or not what was awaited in time
    (what it showed instead)."""


def browser_missing() -> str | None:
    """Why the browser checks cannot run here (None when they can)."""
    if importlib.util.find_spec("playwright") is None:
        return "the Python package playwright is not installed (pip install -e '.[dev]')"
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM}: install Debian's browser (apt-get install chromium)"
    return None


def launch(playwright) -> Any:
    """Headless Chromium from Debian (Playwright downloads no browser)."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
    )


def new_page(browser) -> Any:
    """A page with the ``window.tdsnn`` helpers installed (before any load)."""
    page = browser.new_page(viewport={"width": 1600, "height": 1100})
    page.add_init_script(HELPERS_JS)
    return page


def load_dashboard(page, url: str, timeout_ms: float = 120_000) -> str:
    """Open the dashboard at ``url``; returns once the first stimulus is drawn (its label)."""
    page.goto(url)
    return wait_for_stimulus(page, None, timeout_ms)


def page_state(page) -> str:
    """What the page shows now, for a failure message: label, sheets, status and alert."""
    state = page.evaluate(
        """() => ({label: window.tdsnn.text("stimulus-label"), sheets: window.tdsnn.drawn(),
          status: window.tdsnn.text("status-message"), alert: window.tdsnn.error()})"""
    )
    return ", ".join(f"{key}: {value!r}" for key, value in state.items())


def stimulus_label(page) -> str | None:
    return page.evaluate("() => window.tdsnn.text('stimulus-label')")


def wait_for_stimulus(page, previous: str | None, timeout_ms: float = 120_000) -> str:
    """Wait until the page shows a stimulus other than ``previous``; return its label. An
    error the page shows meanwhile (one not already on it), or none in ``timeout_ms``, raises
    :class:`PageError`."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    stale = page.evaluate("() => window.tdsnn.error()")
    try:
        shown = page.wait_for_function(STIMULUS_SHOWN_JS, arg=[previous, stale], timeout=timeout_ms)
    except PlaywrightTimeout as exc:
        raise PageError(
            f"no new stimulus within {timeout_ms / 1000:g} s; {page_state(page)}"
        ) from exc
    outcome = shown.json_value()
    if "error" in outcome:
        raise PageError(outcome["error"])
    return outcome["label"]


def frames(page) -> dict[str, list]:
    """{layer: [T][cells * cells]} spike fractions held by the browser (None: empty cell)."""
    return page.evaluate("() => window.tdsnn.frames()")


def sheet_counts(page) -> dict[str, dict[str, list]]:
    """{layer: {"counts": [T * cells], "units": [cells]}}: what the browser was shipped."""
    return page.evaluate(
        """() => {
      const {layer, counts, units} = window.tdsnn.model("sheet-frames").data;
      return Object.fromEntries(layer.map((name, i) =>
        [name, {counts: Array.from(counts[i]), units: Array.from(units[i])}]));
    }"""
    )


def frame_switch_ms(page, steps: int) -> list[float]:
    """Milliseconds of each of ``steps`` player frame switches, every sheet painted."""
    return page.evaluate(FRAME_SWITCH_JS, steps)
