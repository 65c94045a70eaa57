"""The service against calling the model in-process: latency, response size, throughput.

    python bench/service.py [--checkpoint PATH] [--threads N] [--repeats N] [--device cpu|cuda]

Starts ``tdsnn serve`` (``python -m tdsnn_serve.command serve``) on a free loopback port, serving
the checkpoint (default: an untrained sresnet_mini, threshold lowered so layers spike), and
prints in one run: the median latency of one spikes request (binary form, every layer) vs
one direct ``model(image, return_spikes=True)`` call with the same torch threads, timed
alternately (target ratio <= 1.1 on CPU, 1.3 on CUDA: a lone request runs alone, unpadded).
Both make the grating from its parameters; the request goes over a kept-alive stdlib
connection, so the figure is the service's, and the same request through httpx (the
client's own per-request cost included) is printed beside it;
the binary response's bytes vs the bit-packed minimum (target <= 1.1x) and vs the json form;
requests per second with 1 to 32 clients and their gain over 1 client (bursts share batches
where batching is byte-exact, see backend/worker.py); a burst
of 200 concurrent lesion requests (200, 503 when the queue is full, or 504 once one waited past
the server's deadline; and the slowest /healthz meanwhile); and
the server's RSS growth over 1,000 mixed requests after warm-up (target < 10 %).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx
import torch

from backend.encoding import packed_size
from backend.soak import HealthProbe, burst, mixed_soak, rss_bytes
from tdsnn_core.checkpoints import load_checkpoint, save_checkpoint
from tdsnn_core.data import sine_grating
from tdsnn_core.models import create_model
from tdsnn_core.sheets import build_sheets

REPO = Path(__file__).resolve().parent.parent
GRATING = {"orientation_deg": 45.0, "cycles_per_image": 4.0, "phase_deg": 0.0, "contrast": 1.0}


def untrained_checkpoint(path: Path, name: str = "sresnet_mini") -> None:
    torch.manual_seed(0)
    model = create_model(name, v_threshold=0.3)
    layers = [(t.name, t.area, t.dims, t.downsampling) for t in model.topographic_layers()]
    save_checkpoint(
        path, model, build_sheets(layers), {"train_config": {"data": {"kind": "gratings"}}}
    )


def start_server(models: Path, threads: int | None, device: str) -> tuple[subprocess.Popen, str]:
    """``tdsnn serve`` on a free port with ``threads`` torch threads (None: the service's
    default, torch's)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "TDSNN_LESION_IMAGES": "64"}
    env.pop("TDSNN_THREADS", None)
    if threads is not None:
        env["TDSNN_THREADS"] = str(threads)
    env["TDSNN_QUEUE_SIZE"] = "64"  # room for the 32 throughput clients; the burst overflows it
    command = [sys.executable, "-m", "tdsnn_serve.command", "serve", "--models", str(models)]
    command += ["--port", str(port), "--device", device, "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=REPO, env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            httpx.get(f"{url}/healthz", timeout=1)
            return process, url
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not start")


def post(connection: http.client.HTTPConnection, path: str, body: dict) -> bytes:
    """The content of a 200 answer to a JSON POST on a kept-alive connection."""
    connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    response = connection.getresponse()
    content = response.read()
    if response.status != 200:
        raise RuntimeError(f"{path}: {response.status} {content[:200]!r}")
    return content


def throughput(url: str, model_id: str, clients: int, requests: int) -> float:
    """Requests per second of ``clients`` concurrent clients sending ``requests`` in all."""

    async def client(http: httpx.AsyncClient, count: int) -> None:
        for _ in range(count):
            response = await http.post(f"/v1/models/{model_id}/spikes", json={"stimulus": GRATING})
            response.raise_for_status()

    async def run() -> float:
        limits = httpx.Limits(max_connections=clients)
        async with httpx.AsyncClient(base_url=url, timeout=600, limits=limits) as http:
            start = time.perf_counter()
            await asyncio.gather(*(client(http, requests // clients) for _ in range(clients)))
            return (requests // clients) * clients / (time.perf_counter() - start)

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--soak", type=int, default=1000, help="mixed requests for the RSS check")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        models = Path(tmp)
        model_id = "bench"
        if args.checkpoint:
            shutil.copy(args.checkpoint, models / f"{model_id}.safetensors")
        else:
            untrained_checkpoint(models / f"{model_id}.safetensors")
        ckpt = load_checkpoint(models / f"{model_id}.safetensors", args.device)
        process, url = start_server(models, args.threads, args.device)
        try:
            report(ckpt, url, model_id, args)
            load(process.pid, url, model_id, args.soak)
        finally:
            process.terminate()
            process.wait(timeout=60)


def report(ckpt, url: str, model_id: str, args: argparse.Namespace) -> None:
    config, model = ckpt.model.config, ckpt.model
    body = {"stimulus": GRATING}
    path = f"/v1/models/{model_id}/spikes"
    direct, served, via_httpx = [], [], []
    address = urlparse(url)
    stdlib = http.client.HTTPConnection(address.hostname, address.port, timeout=600)
    with httpx.Client(base_url=url, timeout=600) as client, torch.inference_mode():
        for i in range(args.repeats + 3):  # 3 warm-up rounds
            start = time.perf_counter()
            image = sine_grating(
                config["input_size"], *GRATING.values(), channels=config["in_channels"]
            )
            out = model(image[None].to(args.device), return_spikes=True)
            if args.device == "cuda":
                torch.cuda.synchronize()
            middle = time.perf_counter()
            content = post(stdlib, path, body)
            end = time.perf_counter()
            response = client.post(path, json=body)
            last = time.perf_counter()
            response.raise_for_status()
            if i >= 3:
                direct.append(middle - start)
                served.append(end - middle)
                via_httpx.append(last - end)
        binary = len(content)
        try:
            json_bytes = len(post(stdlib, path, body | {"output": "json"}))
        except RuntimeError as error:
            if ": 409 " not in str(error):  # the json form is refused for a model this size
                raise
            json_bytes = None
    stdlib.close()
    minimum = packed_size(model.timesteps, [t.dims for t in model.topographic_layers()])
    d, s = statistics.median(direct) * 1e3, statistics.median(served) * 1e3
    print(
        f"model {model.model_name}, {config['input_size']} px, T = {model.timesteps}, "
        f"{len(out.spikes)} layers, device {args.device}, torch threads {args.threads}"
    )
    target = 1.3 if args.device == "cuda" else 1.1
    print(
        f"latency   direct {d:.2f} ms   service {s:.2f} ms   ratio {s / d:.2f}  "
        f"(target <= {target})   through httpx {statistics.median(via_httpx) * 1e3:.2f} ms"
    )
    json_form = (
        "json refused for this size (409)"
        if json_bytes is None
        else f"json {json_bytes} ({json_bytes / binary:.1f}x binary)"
    )
    print(
        f"bytes     binary {binary}   bit-packed minimum {minimum}   "
        f"ratio {binary / minimum:.3f}  (target <= 1.1)   {json_form}"
    )
    single = None
    for clients in (1, 2, 4, 8, 32):
        rate = throughput(url, model_id, clients, max(2 * args.repeats, 2 * clients))
        single = single or rate
        print(
            f"throughput {clients:>2} clients  {rate:.1f} requests/s  "
            f"({rate / single:.2f}x 1 client)"
        )


def load(pid: int, url: str, model_id: str, soak: int) -> None:
    """Backpressure (a burst of lesions) and memory (a mixed soak) figures."""
    with HealthProbe(url) as probe:
        answers = burst(
            url, f"/v1/models/{model_id}/lesions", {"layer": "layer2.0", "units": [1]}, 200
        )
    counts = {s: sum(a.status == s for a in answers) for s in sorted({a.status for a in answers})}
    print(f"burst     200 lesions {counts}   slowest /healthz {max(probe.seconds) * 1e3:.1f} ms")
    mixed_soak(url, model_id, "layer2.0", 100)  # warm-up: caches, allocator pools
    before = rss_bytes(pid)
    mixed_soak(url, model_id, "layer2.0", soak)
    after = rss_bytes(pid)
    print(
        f"memory    RSS {before / 2**20:.0f} -> {after / 2**20:.0f} MiB over {soak} mixed "
        f"requests: {after / before - 1:+.1%}  (target < +10 %)"
    )


if __name__ == "__main__":
    main()
