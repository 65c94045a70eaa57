"""The dashboard in a real browser: first render, stimulus change, and player frame switches.

    python bench/dashboard.py [--checkpoint models/fmnist_stc.safetensors] [--loads 3]
                              [--changes 6] [--switches 200] [--threads N]

Starts ``tdsnn serve`` (``python -m backend.command serve``) on a free loopback port with the
checkpoint (default: the bundled topographic model) and drives Debian's headless Chromium
(Playwright) on /dashboard. Prints the median time from navigation to the first stimulus's
sheets drawn; from choosing another probe image to its sheets drawn (service request, binning,
transfer and paint); and the main-thread time of one player frame switch (the JS callback
swapping every sheet's frame, then every sheet repainted at once), against a 16 ms target.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from service import REPO, start_server  # bench/service.py: the same server launcher

from app.browser import (
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = REPO / "models" / f"{DEFAULT_MODEL}.safetensors"
    parser.add_argument("--checkpoint", type=Path, default=default, help=f"default: {default}")
    parser.add_argument("--loads", type=int, default=3, help="fresh page loads timed")
    parser.add_argument("--changes", type=int, default=6, help="stimulus changes timed")
    parser.add_argument("--switches", type=int, default=200, help="frame switches timed")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the server")
    args = parser.parse_args()
    reason = browser_missing()
    if reason is not None:
        raise SystemExit(f"cannot run the dashboard benchmark: {reason}")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / args.checkpoint.name).symlink_to(args.checkpoint.resolve())
        process, url = start_server(Path(folder), args.threads, "cpu")
        try:
            with sync_playwright() as playwright:
                browser = launch(playwright)
                report(browser, f"{url}/dashboard", args)
                browser.close()
        finally:
            process.terminate()
            process.wait(timeout=30)


def report(browser, url: str, args: argparse.Namespace) -> None:
    warm_up = new_page(browser)  # the first session fills the server's caches
    load_dashboard(warm_up, url)
    warm_up.close()
    loads = []
    for _ in range(args.loads):
        page = new_page(browser)
        start = time.perf_counter()
        load_dashboard(page, url)
        loads.append(time.perf_counter() - start)
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
        changes.append(time.perf_counter() - start)
    with TDSNNClient(url.removesuffix("/dashboard")) as client:
        layers = client.model(args.checkpoint.stem, positions=False)["layers"]
    largest = max(layers, key=lambda layer: layer["units"])
    every = frame_switch_ms(page, args.switches)
    alone = frame_switch_ms(page, args.switches, largest["name"])
    print(f"dashboard benchmark: {args.checkpoint.name}, {len(layers)} sheets, headless Chromium")
    print(f"  first render (navigation -> sheets drawn), median of {args.loads}: "
          f"{statistics.median(loads) * 1000:.0f} ms")  # fmt: skip
    print(f"  stimulus change -> new sheets drawn, median of {args.changes}: "
          f"{statistics.median(changes) * 1000:.0f} ms")  # fmt: skip
    print(f"  frame switch, largest sheet ({largest['name']}, {largest['units']:,} units): "
          f"{summary(alone)}")  # fmt: skip
    print(f"  frame switch, player (all {len(layers)} sheets swapped and repainted): "
          f"{summary(every)}")  # fmt: skip


def summary(times_ms: list[float]) -> str:
    """Median, 95th percentile and max against the 16 ms frame budget."""
    ordered = sorted(times_ms)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    verdict = "within" if p95 < 16 else "over"
    return (
        f"median {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms, max {ordered[-1]:.1f} ms "
        f"over {len(ordered)} switches (p95 {verdict} the 16 ms budget)"
    )


if __name__ == "__main__":
    main()
