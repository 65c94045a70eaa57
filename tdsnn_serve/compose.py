"""The two apps ``tdsnn serve`` runs: the service with its dashboard, or the dashboard alone."""

from __future__ import annotations

from fastapi import FastAPI

import tdsnn_core
from app.server import add_dashboard
from backend.app import create_app
from backend.settings import Settings


def service_with_dashboard(settings: Settings, own_url: str) -> FastAPI:
    """The service app with the dashboard at /dashboard; each browser session drives the
    service through ``own_url`` (this app's address, as its clients reach it)."""
    api = create_app(settings)
    token = settings.token.get_secret_value() if settings.token else None
    add_dashboard(api, own_url, token)
    return api


def dashboard_app(service_url: str, token: str | None = None) -> FastAPI:
    """Only the dashboard, driving the (remote) service at ``service_url`` with ``token``."""
    api = FastAPI(title="TDSNN Lab dashboard", version=tdsnn_core.__version__)
    add_dashboard(api, service_url, token)
    return api
