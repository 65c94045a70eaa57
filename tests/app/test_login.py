"""A service started with TDSNN_TOKEN: the browser is sent to the login page, the token goes
into an HttpOnly, SameSite=Strict cookie, and the dashboard then works against its own
protected service (Debian's Chromium, a real server of the bundled default model)."""

from __future__ import annotations

import pytest
from dashboard_helpers import DEFAULT_MODEL, screenshot, start_server

from app.browser import new_page, wait_for_stimulus

TOKEN = "dashboard-s3cret"


@pytest.fixture(scope="module")
def protected(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("protected")
    (folder / DEFAULT_MODEL.name).symlink_to(DEFAULT_MODEL)
    process, url = start_server(folder, folder / "server.log", TDSNN_TOKEN=TOKEN)
    yield url
    process.terminate()
    process.wait(timeout=30)


def test_login_opens_the_protected_dashboard(browser, protected):
    page = new_page(browser)
    try:
        page.goto(f"{protected}/dashboard")
        assert page.url.startswith(f"{protected}/login")
        page.fill("input[name=token]", "wrong")
        page.click("input[type=submit]")
        assert page.get_by_text("Wrong token.").is_visible()
        page.fill("input[name=token]", TOKEN)
        page.click("input[type=submit]")
        label = wait_for_stimulus(page, None)  # the page drove its service: sheets drawn
        assert label.startswith(f"<b>{DEFAULT_MODEL.stem}</b>")
        assert page.url == f"{protected}/dashboard"
        (cookie,) = [c for c in page.context.cookies() if c["name"] == "tdsnn_token"]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
        assert "tdsnn_token" not in page.evaluate("document.cookie")  # out of scripts' reach
        assert page.locator(".error-alert").is_hidden()
        screenshot(page, "09-login")
    finally:
        page.close()
