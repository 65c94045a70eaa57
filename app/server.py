"""Mounting the dashboard on a FastAPI app (``tdsnn serve``), JS and CSS served by that app."""

from __future__ import annotations

from bokeh.resources import Resources
from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

PATH = "/dashboard"
FAVICON = "static/extensions/panel/images/favicon.ico"  # relative to PATH: served locally
# The BokehJS bundles the page loads: Panel's page would also load bokeh-mathjax (1.8 MB; the
# page shows no TeX) and bokeh-gl (no plot uses WebGL). panel.min.js imports bokeh-tables.
BOKEH_JS = ["bokeh", "bokeh-widgets", "bokeh-tables"]


def add_dashboard(api: FastAPI, service_url: str, token: str | None = None) -> None:
    """Serve the dashboard at /dashboard of ``api`` (and redirect / there); each browser
    session drives the service at ``service_url`` through :class:`backend.client.TDSNNClient`."""
    from panel.io.fastapi import add_applications

    from app.page import build_page

    def page():  # a plain function: Panel calls it once per browser session
        return build_page(service_url, token)

    known = {id(route) for route in api.routes}
    bokeh = add_applications({PATH: page}, app=api, title="TDSNN Lab")
    linked = bokeh.resources  # the JS and CSS a session's HTML links

    def resources(absolute_url: str | None = None) -> Resources:
        return linked(absolute_url).clone(components=BOKEH_JS)

    bokeh.resources = resources
    for route in api.routes:
        if id(route) not in known and isinstance(route, APIRoute):
            route.include_in_schema = False  # the OpenAPI schema stays the service's
    api.add_api_route("/", lambda: RedirectResponse(PATH), include_in_schema=False)
