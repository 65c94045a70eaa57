"""Mounting the dashboard on a FastAPI app (``tdsnn serve``), JS and CSS served by that app."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

PATH = "/dashboard"
FAVICON = "static/extensions/panel/images/favicon.ico"  # relative to PATH: served locally


def add_dashboard(api: FastAPI, service_url: str, token: str | None = None) -> None:
    """Serve the dashboard at /dashboard of ``api`` (and redirect / there); each browser
    session drives the service at ``service_url`` through :class:`backend.client.TDSNNClient`."""
    from panel.io.fastapi import add_applications

    from app.page import build_page

    def page():  # a plain function: Panel calls it once per browser session
        return build_page(service_url, token)

    known = {id(route) for route in api.routes}
    add_applications({PATH: page}, app=api, title="TDSNN Lab")
    for route in api.routes:
        if id(route) not in known and isinstance(route, APIRoute):
            route.include_in_schema = False  # the OpenAPI schema stays the service's
    api.add_api_route("/", lambda: RedirectResponse(PATH), include_in_schema=False)
