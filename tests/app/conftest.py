"""A real ``tdsnn serve`` (uvicorn subprocess) on the bundled default model, and one headless
Debian Chromium (Playwright) with one dashboard page, shared by the module's tests.

Screenshots go to tests/app/artifacts/ (git-ignored). Without playwright or /usr/bin/chromium
the tests fail with one line naming what is missing: ``make test`` installs both.
"""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from dashboard_helpers import DEFAULT_MODEL, start_server

from app.browser import PageError, browser_missing, launch, load_dashboard, new_page


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> str:
    """Base URL of a server of the bundled default model (its id: ``DEFAULT_MODEL.stem``)."""
    folder = tmp_path_factory.mktemp("models")
    (folder / DEFAULT_MODEL.name).symlink_to(DEFAULT_MODEL)
    log = tmp_path_factory.mktemp("logs") / "server.log"
    process, url = start_server(folder, log, TDSNN_LESION_IMAGES="64")
    yield url
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium. Module-scoped: Playwright's sync API keeps an asyncio loop running
    on the main thread while it lives, which would break later tests that call asyncio.run."""
    reason = browser_missing()
    if reason is not None:
        pytest.fail(f"the browser tests cannot run: {reason} (make test installs it)", False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


class Recorder:
    """The page's console errors and every URL it requested."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))

    def off_loopback(self) -> list[str]:
        return [u for u in self.requests if urlparse(u).hostname not in ("127.0.0.1", None)]


@pytest.fixture(scope="module")
def dashboard(browser, server):
    """(page, recorder): the dashboard with its first stimulus (the default grating) drawn."""
    page = new_page(browser)
    recorder = Recorder(page)
    try:
        load_dashboard(page, f"{server}/dashboard")
    except PageError as exc:
        pytest.fail(f"the dashboard did not load: {exc}; console errors: {recorder.errors}")
    yield page, recorder
    page.close()
