"""Request dependencies (the app's model store and settings) and awaiting a model's job."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Annotated, Any

from fastapi import Depends, Request

from backend.errors import ApiError
from backend.lanes import Busy, DeadlineExceeded
from backend.registry import ModelStore
from backend.settings import Settings


# Async, so FastAPI calls them on the event loop: a plain def would cost every request two
# thread hand-offs (to the threadpool and back) per dependency.
async def get_store(request: Request) -> ModelStore:
    return request.app.state.store


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


Store = Annotated[ModelStore, Depends(get_store)]
ServiceSettings = Annotated[Settings, Depends(get_settings)]


async def complete(submit: Callable[[float], Future], deadline_s: float) -> Any:
    """The result of the job that ``submit(deadline)`` queues: a full queue is a 503 with
    Retry-After (usually answered earlier, by the app's Admission middleware), a job not done
    within ``deadline_s`` a 504 (the job is cancelled, or aborted by its deadline guard)."""
    deadline = time.monotonic() + deadline_s
    try:
        future = submit(deadline)
    except Busy as busy:
        raise ApiError(503, str(busy), headers=busy.headers) from None
    try:
        return await asyncio.wait_for(asyncio.wrap_future(future), deadline_s)
    except (TimeoutError, DeadlineExceeded):
        raise ApiError(504, f"the request did not finish within {deadline_s:g} s") from None
