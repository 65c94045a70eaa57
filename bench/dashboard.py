"""The dashboard in a real browser: first render, stimulus change, and player frame switches.

    python bench/dashboard.py [--checkpoint models/categories_stc.safetensors | --model sresnet18]
                              [--loads 3] [--changes 6] [--switches 200] [--threads N]

Starts ``tdsnn serve`` (``python -m tdsnn_serve.command serve``) on a free loopback port with
the checkpoint (default: the bundled topographic model) or an untrained registered model
(``--model``, e.g. the full-size ``sresnet18``: 224 px, 752,640 units per timestep) and drives
Debian's headless Chromium (Playwright) on /dashboard. Prints the median time from navigation
to the first stimulus's sheets drawn; from choosing another probe image to its sheets drawn
(service request, binning, transfer and paint); and the main-thread time of one player frame
switch (the JS callback filling every sheet's frame, then the sheets' one canvas repainted),
each against its target. A checkpoint the server cannot load, or an error the page shows,
ends the run at once with the reason.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from service import REPO, start_server, untrained_checkpoint  # bench/service.py

from app.browser import (
    PageError,
    browser_missing,
    frame_switch_ms,
    launch,
    load_dashboard,
    new_page,
    stimulus_label,
    wait_for_stimulus,
)
from app.page import DEFAULT_MODEL
from backend.client import TDSNNClient

PROBES = ["Sneaker", "Bag", "Trouser", "Ankle boot"]
TARGETS_MS = {"first render": 1500, "stimulus change": 300, "frame switch p95": 33}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = REPO / "models" / f"{DEFAULT_MODEL}.safetensors"
    parser.add_argument("--checkpoint", type=Path, default=default, help=f"default: {default}")
    parser.add_argument("--model", help="an untrained registered model instead (e.g. sresnet18)")
    parser.add_argument("--loads", type=int, default=3, help="fresh page loads timed")
    parser.add_argument("--changes", type=int, default=6, help="stimulus changes timed")
    parser.add_argument("--switches", type=int, default=200, help="frame switches timed")
    parser.add_argument(
        "--threads", type=int, default=None,
        help="torch threads of the server (default: the service's, torch's: every core)",
    )  # fmt: skip
    args = parser.parse_args()
    reason = browser_missing()
    if reason is not None:
        raise SystemExit(f"cannot run the dashboard benchmark: {reason}")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        if args.model:
            args.checkpoint = Path(folder) / f"{args.model}.safetensors"
            untrained_checkpoint(args.checkpoint, args.model)
        else:
            (Path(folder) / args.checkpoint.name).symlink_to(args.checkpoint.resolve())
        process, url = start_server(Path(folder), args.threads, "cpu")
        try:
            layers = served_layers(url, args.checkpoint.stem)
            with sync_playwright() as playwright:
                browser = launch(playwright)
                try:
                    report(browser, f"{url}/dashboard", layers, args)
                except PageError as error:
                    raise SystemExit(
                        f"dashboard benchmark stopped, the page shows: {error}"
                    ) from None
                finally:
                    browser.close()
        finally:
            process.terminate()
            process.wait(timeout=30)


def served_layers(url: str, model_id: str) -> list[dict]:
    """The served model's layers; stops the run if the server could not load it."""
    with TDSNNClient(url) as client:
        listing = client.models()
        if model_id not in {m["id"] for m in listing["models"]}:
            why = "; ".join(f"{s['file']}: {s['reason']}" for s in listing["skipped"])
            raise SystemExit(f"dashboard benchmark stopped: {model_id} is not served ({why})")
        return client.model(model_id, positions=False)["layers"]


def report(browser, url: str, layers: list[dict], args: argparse.Namespace) -> None:
    warm_up = new_page(browser)  # the first session fills the server's caches
    load_dashboard(warm_up, url)
    warm_up.close()
    loads = []
    for _ in range(args.loads):
        page = new_page(browser)
        start = time.perf_counter()
        load_dashboard(page, url)
        loads.append((time.perf_counter() - start) * 1000)
        page.close()
    page = new_page(browser)
    load_dashboard(page, url)
    page.locator(".bk-tab").filter(has_text="Probe image").click()
    changes = []
    for i in range(args.changes):
        label = stimulus_label(page)
        start = time.perf_counter()
        page.get_by_label("Probe image").select_option(
            label=f"{PROBES[i % len(PROBES)]} (Fashion-MNIST test set)"
        )
        wait_for_stimulus(page, label)
        changes.append((time.perf_counter() - start) * 1000)
    switches = sorted(frame_switch_ms(page, args.switches))
    p95 = switches[int(0.95 * (len(switches) - 1))]
    units = sum(layer["units"] for layer in layers)
    print(
        f"dashboard benchmark: {args.checkpoint.name}, {len(layers)} sheets, "
        f"{units:,} units per timestep, headless Chromium, server torch threads "
        f"{args.threads or f'{torch.get_num_threads()} (the default)'}"
    )
    print(f"  first render (navigation -> sheets drawn), median of {args.loads}: "
          f"{verdict(statistics.median(loads), 'first render')}")  # fmt: skip
    print(f"  stimulus change -> new sheets drawn, median of {args.changes}: "
          f"{verdict(statistics.median(changes), 'stimulus change')}")  # fmt: skip
    print(f"  frame switch, player (all {len(layers)} sheets filled, one canvas repainted), "
          f"over {len(switches)}: median {statistics.median(switches):.1f} ms, "
          f"p95 {verdict(p95, 'frame switch p95')}, max {switches[-1]:.1f} ms")  # fmt: skip


def verdict(ms: float, target: str) -> str:
    """``ms`` against its target."""
    limit = TARGETS_MS[target]
    return f"{ms:.1f} ms ({'within' if ms <= limit else 'over'} the {limit} ms target)"


if __name__ == "__main__":
    main()
