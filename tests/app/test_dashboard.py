"""The dashboard in a real Chromium against a real server: sheets render, the player steps
frames in the browser, uploads change the spike maps, bad uploads read as the service's
message, overlays and lesions draw. Screenshots of each view go to tests/app/artifacts/."""

from __future__ import annotations

import io
import re
from urllib.parse import urlparse

import numpy as np
from dashboard_helpers import DEFAULT_MODEL, screenshot
from PIL import Image, ImageDraw

from app.browser import frames, sheet_counts, stimulus_label, wait_for_stimulus
from app.sheets import sheet_bins
from backend.client import TDSNNClient
from tdsnn_core.data.categories import CATEGORIES

LAYERS = [f"layer{i}.{j}" for i in range(1, 5) for j in range(2)]
AREAS = {"early", "V1", "V2", "V4", "IT"}


def shape_png() -> bytes:
    """A white disc and bar on black, 40 x 40 (resized by the service)."""
    image = Image.new("L", (40, 40))
    draw = ImageDraw.Draw(image)
    draw.ellipse((6, 6, 26, 26), fill=255)
    draw.rectangle((28, 4, 34, 36), fill=200)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def same(a, b) -> bool:
    """Equal spike fractions (None, an empty cell, equals None)."""
    return np.allclose(np.array(a, dtype=float), np.array(b, dtype=float), equal_nan=True)


def tab(page, title: str):
    return page.locator(".bk-tab").filter(has_text=re.compile(f"^{title}$"))


def shown(page, layer: str) -> list:
    """The frame a sheet's image displays now."""
    return page.evaluate(f"() => window.tdsnn.shown('{layer}')")


def model_value(page, name: str, expression: str):
    return page.evaluate(
        f"() => {{ const m = window.tdsnn.model({name!r}); return {expression}; }}"
    )


def test_page_loads_with_no_console_errors_and_no_outside_requests(dashboard):
    page, recorder = dashboard
    assert recorder.errors == []
    assert recorder.requests and recorder.off_loopback() == []
    assert page.evaluate("() => window.tdsnn.view('sheets') != null")  # one canvas
    titles = model_value(page, "sheet-titles", "m.data.text")
    assert len(titles) == len(LAYERS)
    assert {t.split(" · ")[0] for t in titles} == AREAS
    screenshot(page, "01-sheets")


def test_page_loads_only_the_bokehjs_bundles_it_uses(dashboard):
    _, recorder = dashboard
    scripts = {urlparse(u).path.rsplit("/", 1)[-1] for u in recorder.requests}
    assert {"bokeh.min.js", "bokeh-widgets.min.js", "bokeh-tables.min.js"} <= scripts
    assert "panel.min.js" in scripts
    assert not scripts & {"bokeh-mathjax.min.js", "bokeh-gl.min.js"}  # no TeX, no WebGL


def test_grating_renders_sheets(dashboard):
    page, _ = dashboard
    assert stimulus_label(page).startswith(f"<b>{DEFAULT_MODEL.stem}</b> · grating 45°")
    held = frames(page)
    assert set(held) == set(LAYERS)
    for layer, steps in held.items():
        values = np.array(steps, dtype=float)  # [T, cells]: None -> NaN
        assert values.shape[0] == 4, layer
        assert np.nanmax(values) > 0, f"{layer} shows no spikes"
        assert same(shown(page, layer), steps[0])  # the image shows frame 0
    assert page.get_by_text("probability").first.is_visible()


def test_player_steps_frames_in_the_browser(dashboard):
    page, _ = dashboard
    label = model_value(page, "frame-label", "m.text")
    before = {layer: shown(page, layer) for layer in LAYERS}
    page.locator("button.next").click()
    page.wait_for_function(f"() => window.tdsnn.text('frame-label') !== {label!r}")
    after = {layer: shown(page, layer) for layer in LAYERS}
    assert model_value(page, "frame-label", "m.text") == "timestep 2 of 4"
    assert not all(same(before[k], after[k]) for k in LAYERS)
    held = frames(page)
    assert all(same(after[k], held[k][1]) for k in LAYERS)  # frame 1 of the shipped frames
    screenshot(page, "02-player-step")


def test_uploaded_image_changes_the_spike_maps(dashboard, tmp_path):
    page, _ = dashboard
    grating, label = frames(page), stimulus_label(page)
    upload = tmp_path / "shapes.png"
    upload.write_bytes(shape_png())
    tab(page, "Upload").click()
    page.locator("input[type=file]").set_input_files(str(upload))
    assert "upload shapes.png" in wait_for_stimulus(page, label)
    uploaded = frames(page)
    changed = [
        k
        for k in LAYERS
        if not np.allclose(
            np.array(grating[k], float), np.array(uploaded[k], float), equal_nan=True
        )
    ]
    assert len(changed) == len(LAYERS)
    screenshot(page, "03-upload")


def test_non_image_upload_shows_the_service_message(dashboard, tmp_path):
    page, _ = dashboard
    label = stimulus_label(page)
    notes = tmp_path / "notes.png"
    notes.write_bytes(b"these are notes, not a picture")
    tab(page, "Upload").click()
    page.locator("input[type=file]").set_input_files(str(notes))
    message = page.locator(".error-alert").get_by_text(re.compile("not an image"))
    message.wait_for(state="visible", timeout=60_000)
    assert message.text_content().startswith("The service answered 400: the upload is not an")
    assert stimulus_label(page) == label  # the last good sheets stay on the page
    screenshot(page, "04-bad-upload")


def test_probe_image_and_temporal_view(dashboard, server):
    page, _ = dashboard
    label = stimulus_label(page)
    tab(page, "Probe image").click()
    label = wait_for_stimulus(page, label)  # the tab shows its first probe image
    assert "probe image fashion-t-shirt-top" in label
    page.get_by_label("Probe image").select_option(label="Sneaker (Fashion-MNIST test set)")
    assert "probe image fashion-sneaker" in wait_for_stimulus(page, label)
    assert page.locator(".error-alert").is_hidden()
    with TDSNNClient(server) as client:  # the browser holds this probe's spikes, binned
        layers = {x["name"]: x for x in client.model(DEFAULT_MODEL.stem)["layers"]}
        probe = client.probe("fashion-sneaker")
        direct = client.spikes(DEFAULT_MODEL.stem, image=probe)
        cells = {
            n: sheet_bins(x["positions"], x["size_mm"]).grid.shape[0] for n, x in layers.items()
        }
        rasters = {  # the service's own raster of each sheet, on the dashboard's grid
            name: client.spikes(
                DEFAULT_MODEL.stem, image=probe, layers=[name], output="raster",
                raster_cells=cells[name],
            )["layers"][0]
            for name in layers
        }  # fmt: skip
    held, shipped = frames(page), sheet_counts(page)
    for name, spikes in direct.spikes.items():
        bins = sheet_bins(layers[name]["positions"], layers[name]["size_mm"])
        counts = bins.counts(spikes.reshape(len(spikes), -1)).reshape(len(spikes), -1)
        with np.errstate(invalid="ignore"):
            expected = np.where(bins.units.ravel() > 0, counts / bins.units.ravel(), np.nan)
        assert same(held[name], expected), name
        raster = rasters[name]  # the service's raster and the dashboard's sheet agree
        assert np.array(raster["units"]).ravel().tolist() == shipped[name]["units"], name
        assert np.array(raster["counts"]).ravel().tolist() == shipped[name]["counts"], name
    tab(page, "Temporal").click()
    page.wait_for_function("() => window.tdsnn.view('temporal') != null")
    rates = model_value(
        page,
        "temporal-rates",
        "Object.fromEntries(Object.entries(m.data).map(([k, v]) => [k, Array.from(v)]))",
    )
    assert rates["t"] == [1, 2, 3, 4] and len(rates) == 1 + len(LAYERS)
    assert all(0 <= r <= 1 for k, v in rates.items() if k != "t" for r in v)
    screenshot(page, "05-temporal")
    tab(page, "Cortical sheets").click()


def test_selectivity_overlays(dashboard):
    page, _ = dashboard
    page.get_by_role("button", name="Orientation + pinwheels").click()
    filled = "(name) => window.tdsnn.model(name)?.data.image.length > 0"  # built on arrival
    page.wait_for_function(filled, arg="map-image-orientation", timeout=120_000)
    field = model_value(page, "map-image-orientation", "Array.from(m.data.image[0])")
    finite = [v for v in field if v == v]
    assert finite and all(0 <= v <= 180 for v in finite)
    # the bundled default's V1 resolves pinwheels: the count beside its interval and its null
    density = r"\d+ pinwheels, \d\.\d\d \[95 %: \d\.\d\d, \d\.\d\d\] per Λ²"
    spacing = r"\(Λ = \d\.\d\d \[95 %: \d\.\d\d, \d\.\d\d\] mm"
    page.get_by_text(
        re.compile(density + " " + spacing + r".*shuffled maps resolvable: 0 %")
    ).wait_for()
    smooth = r"smoothness 0\.\d\d \[95 %: 0\.\d\d, 0\.\d\d\] \(shuffled preferences: percentile 100"
    assert page.get_by_text(re.compile(smooth)).is_visible()  # the bundled map beside its null
    page.get_by_role("button", name="Category patches").click()
    page.wait_for_function(filled, arg="map-image-category", timeout=120_000)
    category = page.get_by_label("Category")
    category.wait_for(state="visible")
    t_map = "Array.from(m.data.image[0])"
    faces = model_value(page, "map-image-category", t_map)
    category.select_option("places")
    page.wait_for_function(
        "(faces) => !window.tdsnn.plain(window.tdsnn.model('map-image-category').data.image[0])"
        ".every((v, i) => v === faces[i])",
        arg=faces,
    )
    places = r"places: \d+ \[\d+, \d+\] patch"  # the count with its 95 % interval
    places += r".*permuted: .* p = 0\.\d\d\); smoothness -?\d\.\d\d "
    places += r"\[-?\d\.\d\d, -?\d\.\d\d\] "  # its 95 % interval
    shuffled = r"\(t-values shuffled across units: percentile \d+, p = [01]\.\d\d\)"
    assert page.get_by_text(re.compile(places + shuffled)).is_visible()
    assert page.locator(".error-alert").is_hidden()
    screenshot(page, "06-overlays")


def test_lesion_run_shows_bars_and_disc_and_reruns_the_stimulus(dashboard, server):
    page, _ = dashboard
    tab(page, "Lesions").click()
    page.wait_for_function("() => window.tdsnn.view('lesion-sheet') != null")
    x, y = page.evaluate("() => window.tdsnn.screen('lesion-sheet', 20, 50)")
    page.mouse.click(x, y)
    page.wait_for_function("() => Math.abs(window.tdsnn.model('lesion-disc').data.x[0] - 20) < 2")
    handle = page.locator(".noUi-handle").last  # the radius slider
    radius_before = model_value(page, "lesion-disc", "m.data.r[0]")
    handle.focus()
    for _ in range(5):
        handle.press("ArrowRight")
    radius = radius_before + 5 * 70 / 200  # five steps of the IT sheet's (70 mm) slider
    page.wait_for_function(
        f"() => Math.abs(window.tdsnn.model('lesion-disc').data.r[0] - {radius}) < 1e-6"
    )
    page.get_by_role("button", name="Run lesion").click()
    page.wait_for_function(
        "() => window.tdsnn.model('lesion-bars').data.accuracy.length > 0", timeout=180_000
    )
    bars = model_value(page, "lesion-bars", "Array.from(m.data.accuracy)")
    assert len(bars) == 3 * 5 and all(0 <= a <= 100 for a in bars)  # percent, 3 per category
    page.get_by_text("of layer4.1 silenced within").wait_for(state="visible")  # its summary
    table = page.get_by_role("table").filter(has_text="rank among")  # deficits beside the null
    rows = table.locator("tbody tr").all_inner_texts()
    assert sorted(r.split("\t")[0] for r in rows) == sorted(CATEGORIES)
    assert all(
        re.search(r"\[[-+]\d+\.\d, [-+]\d+\.\d\].*\[.*\]\s+\d\.\d\d\s+(yes|no)", r) for r in rows
    )
    screenshot(page, "07-lesion")
    label = stimulus_label(page)
    page.get_by_role("button", name="Re-run the stimulus with this lesion").click()
    assert "lesion: layer4.1" in wait_for_stimulus(page, label)
    tab(page, "Cortical sheets").click()
    page.wait_for_function("() => window.tdsnn.model('sheet-disc')?.data.layer[0] == 'layer4.1'")
    disc = model_value(page, "sheet-disc", "[m.data.x_mm[0], m.data.y_mm[0], m.data.r_mm[0]]")
    assert abs(disc[0] - 20) < 2 and abs(disc[1] - 50) < 2 and abs(disc[2] - radius) < 1e-6
    with TDSNNClient(server) as client:
        layer = next(
            x for x in client.model(DEFAULT_MODEL.stem)["layers"] if x["name"] == "layer4.1"
        )
    cell = sheet_bins(layer["positions"], layer["size_mm"]).cell_of_unit
    inside = np.linalg.norm(layer["positions"] - disc[:2], axis=1) <= disc[2]
    silent_cells = sorted(set(cell[inside]) - set(cell[~inside]))
    held = np.array(frames(page)["layer4.1"], dtype=float)  # [T, cells]
    assert silent_cells and np.all(held[:, silent_cells] == 0)  # the disc's units are silenced
    screenshot(page, "08-lesioned-spikes")


def test_no_console_errors_and_no_outside_requests_after_all_views(dashboard):
    _, recorder = dashboard
    assert recorder.errors == []
    assert recorder.off_loopback() == []
