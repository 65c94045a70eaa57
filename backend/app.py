"""The FastAPI application: ``create_app(settings)``; run it with uvicorn (``tdsnn serve``)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException
from fastapi.openapi.utils import get_openapi
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import tdsnn_core
from backend import schemas
from backend.registry import ModelStore
from backend.routes import analysis, lesioned, models, probes, spikes
from backend.settings import Settings
from tdsnn_core.training.distributed import resolve_device

DESCRIPTION = """Spikes, selectivity maps and lesions of topographic deep spiking networks.

Models are the `.safetensors` checkpoints of the server's models folder, named by file stem.
Errors are JSON with a `detail` naming the problem. When the server has a token
(`TDSNN_TOKEN`), every route needs `Authorization: Bearer <token>`.
"""
MULTIPART_SLACK = 64 * 1024  # form boundaries and the options field around an upload


def create_app(
    settings: Settings | None = None, *, dashboard_service: str | None = None
) -> FastAPI:
    """The service app; models load from ``settings.models_dir`` when it starts.

    With ``dashboard_service`` (this app's own URL, as its clients reach it) the dashboard is
    served at /dashboard and drives the service through that URL.
    """
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.store = ModelStore.load(
            settings.models_dir,
            resolve_device(settings.device),
            settings.max_batch,
            settings.batch_window_ms / 1000,
        )
        try:
            yield
        finally:
            app.state.store.close()

    app = FastAPI(
        title="TDSNN Lab service",
        version=tdsnn_core.__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    for router in (models.router, spikes.router, lesioned.router, analysis.router, probes.router):
        app.include_router(router)
    app.add_middleware(BodyLimit, limit=settings.max_upload_bytes + MULTIPART_SLACK)
    if settings.token is not None:
        app.add_middleware(BearerToken, token=settings.token.get_secret_value())
    app.openapi = lambda: _openapi(app)
    if dashboard_service is not None:
        from app.server import add_dashboard

        token = settings.token.get_secret_value() if settings.token else None
        add_dashboard(app, dashboard_service, token)
    return app


def create_dashboard_app(service_url: str, token: str | None = None) -> FastAPI:
    """Only the dashboard, driving the (remote) service at ``service_url`` with ``token``."""
    from app.server import add_dashboard

    app = FastAPI(title="TDSNN Lab dashboard", version=tdsnn_core.__version__)
    add_dashboard(app, service_url, token)
    return app


def _openapi(app: FastAPI) -> dict:
    """FastAPI's schema plus the models of the hand-parsed spikes route."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (schemas.SpikesRequest, schemas.SpikesRaster, schemas.SpikesJSON):
            spec = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(spec.pop("$defs", {}))
            components[model.__name__] = spec
        app.openapi_schema = schema
    return app.openapi_schema


class BodyLimit:
    """413 for request bodies over ``limit`` bytes (declared or streamed)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > self.limit:
            return await _error(413, self._message(int(declared)))(scope, receive, send)
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise HTTPException(413, self._message(received))
            return message

        await self.app(scope, limited, send)

    def _message(self, size: int) -> str:
        return f"request body of {size}+ bytes exceeds the limit of {self.limit} bytes"


class BearerToken:
    """401 unless the request carries ``Authorization: Bearer <token>``."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app, self.expected = app, f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given = dict(scope["headers"]).get(b"authorization", b"")
            if not secrets.compare_digest(given, self.expected):
                response = _error(401, "missing or wrong bearer token")
                response.headers["WWW-Authenticate"] = "Bearer"
                return await response(scope, receive, send)
        await self.app(scope, receive, send)


def _error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)
