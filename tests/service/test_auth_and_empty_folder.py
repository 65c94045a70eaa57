"""A token protects every route; an empty models folder serves no models and says so."""

from __future__ import annotations

import httpx
from service_helpers import start_server


def test_token_protects_every_route_and_empty_folder_says_so(tmp_path):
    process, url = start_server(tmp_path / "none", tmp_path / "log.txt", TDSNN_TOKEN="s3cret")
    try:
        for path in ("/healthz", "/v1/models", "/v1/models/x", "/docs", "/openapi.json"):
            assert httpx.get(url + path).status_code == 401
            wrong = httpx.get(url + path, headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401 and "bearer token" in wrong.json()["detail"]
        auth = {"Authorization": "Bearer s3cret"}
        health = httpx.get(url + "/healthz", headers=auth).json()
        assert health["models"] == 0 and "no models loaded" in health["message"]
        assert httpx.get(url + "/v1/models", headers=auth).json()["models"] == []
        assert "does not exist" in (tmp_path / "log.txt").read_text()
    finally:
        process.terminate()
        process.wait(timeout=30)
