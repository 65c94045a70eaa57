"""The FastAPI application of the service: ``create_app(settings)``, run by ``tdsnn serve``."""

from __future__ import annotations

import gc
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import tdsnn_core
from backend import errors
from backend.auth import add_login
from backend.errors import ApiError, error_response
from backend.lanes import Busy
from backend.openapi import service_openapi
from backend.registry import ModelStore
from backend.routes import analysis, lesioned, models, probes, spikes
from backend.settings import Settings
from tdsnn_core.training.distributed import resolve_device

DESCRIPTION = """Spikes, selectivity maps and lesions of topographic deep spiking networks.

Models are the `.safetensors` checkpoints of the server's models folder, named by file stem.
Every error is JSON `{"code", "detail", "field"}` (`ErrorBody`): a machine-readable code, the
problem in words and the offending input. A model that is busy answers 503 with Retry-After;
a request not answered within the server's deadline gets a 504. When the server has a token
(`TDSNN_TOKEN`), every route needs `Authorization: Bearer <token>` (browsers: `/login`).
"""
MULTIPART_SLACK = 64 * 1024  # form boundaries and the options field around an upload
SWITCH_INTERVAL_S = 0.0005


def create_app(settings: Settings | None = None) -> FastAPI:
    """The service app; models load from ``settings.models_dir`` when it starts. (``tdsnn
    serve``, in ``tdsnn_serve``, mounts the dashboard on it: the service never imports it.)"""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The model threads run Python between torch ops: they hand the GIL back to the
        # event loop within SWITCH_INTERVAL_S (Python's default, 5 ms, lets a burst of
        # requests wait that long at every step), so /healthz and refusals stay fast.
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        app.state.store = ModelStore.load(
            settings.models_dir,
            resolve_device(settings.device),
            settings.max_batch,
            settings.batch_window_ms / 1000,
            settings.queue_size,
        )
        # Half a million objects live from start-up (torch, the models, pynwb's namespaces): a
        # full collection of them takes ~0.3 s of the event loop. Frozen, collections scan
        # only what requests allocate.
        gc.collect()
        gc.freeze()
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
    errors.install(app)
    for router in (models.router, spikes.router, lesioned.router, analysis.router, probes.router):
        app.include_router(router)
    app.add_middleware(BodyLimit, limit=settings.max_upload_bytes + MULTIPART_SLACK)
    app.add_middleware(Admission, api=app)
    token = settings.token.get_secret_value() if settings.token else None
    if token is not None:
        add_login(app, token)
    app.openapi = lambda: service_openapi(app)
    return app


class Admission:
    """503 with Retry-After for a model request whose queue is full, answered before any
    routing or body parsing: a burst of refusals costs the event loop little, so /healthz
    stays fast. (Queueing the job still decides: see ``backend.deps.complete``.)"""

    ROUTE = re.compile(r"^/v1/models/([^/]+)/(spikes|spikes/lesioned|lesions|maps/[^/]+)$")

    def __init__(self, app: ASGIApp, api: FastAPI) -> None:
        self.app, self.api = app, api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = self.ROUTE.match(scope["path"]) if scope["type"] == "http" else None
        entry = match and self.api.state.store.entries.get(match[1])
        if entry:
            try:
                (entry.worker if match[2] == "spikes" else entry.analysis).admit()
            except Busy as busy:
                refusal = error_response(503, str(busy), headers=busy.headers)
                return await refusal(scope, receive, send)
        await self.app(scope, receive, send)


class BodyLimit:
    """413 for request bodies over ``limit`` bytes (declared or streamed)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > self.limit:
            return await error_response(413, self._message(int(declared)))(scope, receive, send)
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise ApiError(413, self._message(received))
            return message

        await self.app(scope, limited, send)

    def _message(self, size: int) -> str:
        return f"request body of {size}+ bytes exceeds the limit of {self.limit} bytes"
