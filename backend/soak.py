"""Load on a running service: a burst of concurrent requests, health latency probes, a mixed
soak (spikes, maps, lesions, bad input) and the server's RSS. Used by ``bench/service.py``
and the load tests; needs only httpx (and /proc for RSS)."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import httpx
import numpy as np
from PIL import Image


@dataclass
class Answer:
    status: int
    retry_after: str | None = None


def burst(url: str, path: str, body: dict, count: int, timeout: float = 600) -> list[Answer]:
    """``count`` concurrent POSTs of JSON ``body`` to ``path``, one connection each, written
    as raw HTTP/1.1 (a light client: the burst's own CPU does not starve the server)."""
    parsed = urlparse(url)
    payload = json.dumps(body).encode()
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {parsed.netloc}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload

    async def one() -> Answer:
        reader, writer = await asyncio.open_connection(parsed.hostname, parsed.port)
        try:
            writer.write(request)
            await writer.drain()
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            headers = dict(line.lower().split(": ", 1) for line in head[1:] if ": " in line)
            await reader.read()  # the body, until the server closes
            return Answer(int(head[0].split()[1]), headers.get("retry-after"))
        finally:
            writer.close()

    async def run() -> list[Answer]:
        return await asyncio.wait_for(asyncio.gather(*(one() for _ in range(count))), timeout)

    return asyncio.run(run())


class HealthProbe:
    """GET /healthz every ``gap_s`` from a process of its own (the caller's own load cannot
    delay it) while the block runs, at most ``limit`` times; then ``seconds`` holds each
    answer's latency and ``statuses`` its status."""

    def __init__(self, url: str, gap_s: float = 0.05, limit: int = 40) -> None:
        self.command = [sys.executable, "-m", "backend.soak", url, str(gap_s), str(limit)]
        self.seconds: list[float] = []
        self.statuses: list[int] = []

    def __enter__(self) -> HealthProbe:
        self._process = subprocess.Popen(
            self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self._process.stdout.readline().strip() == "ready"
        return self

    def __exit__(self, *exc) -> None:
        out, _ = self._process.communicate("stop\n", timeout=120)
        for status, seconds in json.loads(out):
            self.statuses.append(status)
            self.seconds.append(seconds)


def _probe(url: str, gap_s: float, limit: int) -> None:
    """The probing process of :class:`HealthProbe`: probe until stdin says stop."""
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
    probes = []
    with httpx.Client(base_url=url, timeout=30) as client:
        client.get("/healthz")  # connect before measuring
        print("ready", flush=True)
        while not stop.is_set() and len(probes) < limit:
            start = time.perf_counter()
            status = client.get("/healthz").status_code
            probes.append((status, time.perf_counter() - start))
            stop.wait(gap_s)
    stop.wait()
    print(json.dumps(probes), flush=True)


def _png(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (24, 24), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def mixed_request(i: int, model: str, layer: str) -> dict:
    """Request ``i`` of the mixed soak: keyword arguments of ``httpx.Client.request``."""
    spikes = f"/v1/models/{model}/spikes"
    kinds = [
        {"method": "POST", "url": spikes, "json": {"stimulus": {"orientation_deg": i % 180}}},
        {"method": "POST", "url": spikes, "files": {"image": ("x.png", _png(i), "image/png")}},
        {"method": "POST", "url": spikes, "json": {"stimulus": {}, "output": "raster"}},
        {"method": "GET", "url": f"/v1/models/{model}/maps/category"},
        {
            "method": "POST",
            "url": f"/v1/models/{model}/lesions",
            "json": {"layer": layer, "units": [i % 8, 8 + i % 8], "seed": i % 3},
        },
        {"method": "POST", "url": spikes, "files": {"image": ("x", b"not an image", "image/png")}},
        {"method": "POST", "url": spikes, "json": {"stimulus": {}, "timesteps": 0}},
        {"method": "POST", "url": spikes, "content": b"\xff{", "headers": {"content-type": "x/y"}},
        {"method": "GET", "url": "/v1/models/nope"},
    ]
    return kinds[i % len(kinds)]


def mixed_soak(url: str, model: str, layer: str, count: int) -> dict[int, int]:
    """Send ``count`` mixed requests one after another; returns {status: how many}."""
    statuses: dict[int, int] = {}
    with httpx.Client(base_url=url, timeout=600) as client:
        for i in range(count):
            status = client.request(**mixed_request(i, model, layer)).status_code
            statuses[status] = statuses.get(status, 0) + 1
    return statuses


def rss_bytes(pid: int) -> int:
    """Resident set size of process ``pid`` (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


if __name__ == "__main__":
    _probe(sys.argv[1], float(sys.argv[2]), int(sys.argv[3]))
