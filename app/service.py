"""The dashboard's link to the TDSNN service: client calls off the event loop, readable errors."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from backend.client import ServiceError, TDSNNClient


class Problem(RuntimeError):
    """A failed service call, worded for the page."""


class Service:
    """:class:`TDSNNClient` methods as coroutines (each runs in a worker thread, so the
    dashboard never blocks the event loop it may share with the service)."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url
        self.client = TDSNNClient(url, token=token)

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """``client.<method>(*args, **kwargs)``; failures raise :class:`Problem`."""
        try:
            return await asyncio.to_thread(getattr(self.client, method), *args, **kwargs)
        except ServiceError as exc:
            raise Problem(f"The service answered {exc.status}: {exc.detail}") from exc
        except httpx.HTTPError as exc:
            raise Problem(f"Cannot reach the service at {self.url}: {exc}") from exc

    def close(self) -> None:
        self.client.close()
