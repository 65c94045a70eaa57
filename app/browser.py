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

# window.tdsnn: the page's named Bokeh models; sheet frames as plain arrays (NaN as null).
HELPERS_JS = """
window.tdsnn = {
  model: (name) => window.Bokeh && Bokeh.documents.length
    ? Bokeh.documents[0].get_model_by_name(name) : null,
  text: (name) => { const m = window.tdsnn.model(name); return m ? m.text : null; },
  plain: (values) => Array.from(values, (v) => (Number.isNaN(v) ? null : v)),
  frames: () => Object.fromEntries([...Bokeh.documents[0]._all_models.values()]
    .filter((m) => m.name && m.name.startsWith("sheet-frames-"))
    .map((m) => [m.name.slice(13), m.data.frame.map(window.tdsnn.plain)])),
  shown: (layer) => window.tdsnn.plain(window.tdsnn.model(`sheet-image-${layer}`).data.image[0]),
  view: (name) => Bokeh.index.query_one((v) => v.model.name === name),
  screen: (name, x, y) => {
    const view = window.tdsnn.view(name);
    const box = view.el.getBoundingClientRect();
    return [box.left + view.frame.x_scale.compute(x), box.top + view.frame.y_scale.compute(y)];
  },
};
"""
STIMULUS_SHOWN_JS = """(previous) => {
  const text = window.tdsnn.text("stimulus-label");
  return text !== null && text !== "" && text !== previous;
}"""
# Frame switches, each painted at once: as the player makes them (value change -> the JS
# callback swaps every sheet's frame; every sheet repainted), or of one sheet alone.
FRAME_SWITCH_JS = """async ([steps, layer]) => {
  const doc = Bokeh.documents[0];
  const player = [...doc._all_models.values()].find((m) => m.type.endsWith("Player"));
  const prefix = layer ? `sheet-${layer}` : "sheet-layer";
  const views = [...Bokeh.index.query((v) => v.model.name?.startsWith(prefix))];
  const image = layer && doc.get_model_by_name(`sheet-image-${layer}`);
  const frames = layer && doc.get_model_by_name(`sheet-frames-${layer}`).data.frame;
  const times = [];
  for (let i = 0; i < steps; i++) {
    await new Promise((resolve) => requestAnimationFrame(resolve));
    const start = performance.now();
    if (layer) image.data = {image: [frames[i % frames.length]]};
    else player.value = player.value === player.end ? player.start : player.value + 1;
    for (const view of views) view.repaint();
    times.push(performance.now() - start);
  }
  return times;
}"""


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


def stimulus_label(page) -> str | None:
    return page.evaluate("() => window.tdsnn.text('stimulus-label')")


def wait_for_stimulus(page, previous: str | None, timeout_ms: float = 120_000) -> str:
    """Wait until the page shows a stimulus other than ``previous``; return its label."""
    page.wait_for_function(STIMULUS_SHOWN_JS, arg=previous, timeout=timeout_ms)
    return stimulus_label(page)


def frames(page) -> dict[str, list]:
    """{layer: [T][cells * cells]} spike fractions held by the browser (None: empty cell)."""
    return page.evaluate("() => window.tdsnn.frames()")


def frame_switch_ms(page, steps: int, layer: str | None = None) -> list[float]:
    """Milliseconds of each of ``steps`` frame switches painted: the player's (every sheet),
    or ``layer``'s sheet alone."""
    return page.evaluate(FRAME_SWITCH_JS, [steps, layer])
