"""Every request starts from reset state: an answer is the same alone or among 50 concurrent
requests; health answers while inference runs."""

from __future__ import annotations

import asyncio

import httpx
import numpy as np
from service_helpers import png

from backend.client import decode_spikes

N_REQUESTS = 50


def request(i: int) -> dict:
    """Request i: alternately a grating and an uploaded image, of 10 different stimuli."""
    if i % 2:
        return {
            "json": {"stimulus": {"orientation_deg": 18.0 * (i % 10), "phase_deg": 7.0 * (i % 10)}}
        }
    return {"files": {"image": ("x.png", png(20 + i % 10, 30, seed=i % 10), "image/png")}}


def test_answers_alone_equal_answers_among_50_concurrent(server):
    with httpx.Client(base_url=server, timeout=300) as client:
        alone = [client.post("/v1/models/mini/spikes", **request(i)).content for i in range(10)]

    async def burst() -> list[bytes]:
        async with httpx.AsyncClient(base_url=server, timeout=300) as client:
            calls = [client.post("/v1/models/mini/spikes", **request(i)) for i in range(N_REQUESTS)]
            return [r.content for r in await asyncio.gather(*calls)]

    together = asyncio.run(burst())
    for i, content in enumerate(together):
        assert content == alone[i % 10], f"request {i} differs among concurrent requests"
    first, second = decode_spikes(alone[0]), decode_spikes(alone[1])
    assert not np.array_equal(first.spikes["layer1.0"], second.spikes["layer1.0"])


def test_health_answers_during_inference(server):
    async def scenario() -> tuple[int, int]:
        async with httpx.AsyncClient(base_url=server, timeout=300) as client:
            body = {"stimulus": {}, "timesteps": 64}
            slow = [
                asyncio.create_task(client.post("/v1/models/mini/spikes", json=body))
                for _ in range(6)
            ]
            await asyncio.sleep(0.3)
            health = await client.get("/healthz")
            pending = sum(not task.done() for task in slow)
            await asyncio.gather(*slow)
            return health.status_code, pending

    status, pending = asyncio.run(scenario())
    assert status == 200 and pending > 0
