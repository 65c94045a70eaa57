"""With a token every route refuses requests without it (API, docs, dashboard, its static
files and websocket); the dashboard's login puts the token in an HttpOnly, SameSite=Strict
cookie that opens them all. An empty models folder serves no models and says so."""

from __future__ import annotations

import base64
import os
import socket
from urllib.parse import urlparse

import httpx
import pytest
from service_helpers import error, start_server

TOKEN = "s3cret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PAGES = ("/", "/dashboard", "/docs", "/login?next=/v1/models")
STATIC = "/static/extensions/panel/images/favicon.ico"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("guarded")
    process, url = start_server(folder / "none", folder / "log.txt", TDSNN_TOKEN=TOKEN)
    yield url, folder / "log.txt"
    process.terminate()
    process.wait(timeout=30)


def routes(url: str) -> list[tuple[str, str]]:
    """(method, path) of every documented operation, path parameters filled in."""
    document = httpx.get(f"{url}/openapi.json", headers=AUTH).json()
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert "401" in operation["responses"], (method, path)
            filled = path.replace("{model_id}", "m").replace("{probe_id}", "p")
            found.append((method.upper(), filled.replace("{kind}", "orientation")))
    return found


def websocket_status(url: str, cookie: str | None = None) -> int:
    """The HTTP status answering a websocket handshake to the dashboard."""
    parsed = urlparse(url)
    lines = [
        "GET /dashboard/ws HTTP/1.1",
        f"Host: {parsed.netloc}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}",
        "Sec-WebSocket-Version: 13",
        f"Origin: {url}",
        *([f"Cookie: {cookie}"] if cookie else []),
    ]
    with socket.create_connection((parsed.hostname, parsed.port), timeout=60) as conn:
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return int(conn.recv(4096).split()[1])


def test_every_route_refuses_requests_without_the_token(guarded):
    url, _ = guarded
    documented = routes(url)
    assert len(documented) == 9
    for method, path in [*documented, ("GET", "/openapi.json"), ("GET", STATIC)]:
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Cookie": "tdsnn_token=nope"}):
            response = httpx.request(method, url + path, headers=headers)
            assert error(response, 401)["code"] == "unauthorized", (method, path)
            assert response.headers["www-authenticate"] == "Bearer"
    for page in PAGES[:3]:  # a browser is sent to the login page, and shown nothing else
        response = httpx.get(url + page, headers={"Accept": "text/html"})
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
        assert error(httpx.get(url + page), 401)["code"] == "unauthorized"
    assert websocket_status(url) == 401


def test_login_sets_a_cookie_that_opens_every_route(guarded):
    url, _ = guarded
    with httpx.Client(base_url=url) as http:
        assert "Token" in http.get(PAGES[3]).text
        wrong = http.post("/login", data={"token": "nope", "next": "/dashboard"})
        assert wrong.status_code == 401 and "Wrong token" in wrong.text and not http.cookies
        login = http.post("/login", data={"token": TOKEN, "next": "//elsewhere.example"})
        assert login.status_code == 303 and login.headers["location"] == "/dashboard"
        cookie = login.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
        assert http.get("/healthz").status_code == 200
        assert http.get(STATIC).status_code == 200
        page = http.get("/dashboard", headers={"Accept": "text/html"})
        assert page.status_code == 200 and "<html" in page.text.lower()
        assert websocket_status(url, f"tdsnn_token={TOKEN}") != 401  # Bokeh's to answer


def test_empty_folder_serves_no_models_and_says_so(guarded):
    url, log = guarded
    health = httpx.get(url + "/healthz", headers=AUTH).json()
    assert health["models"] == 0 and "no models loaded" in health["message"]
    assert httpx.get(url + "/v1/models", headers=AUTH).json()["models"] == []
    assert "does not exist" in log.read_text()
