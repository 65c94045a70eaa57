"""Load and faults on real servers: a full queue answers 503 with Retry-After at once while
/healthz stays fast; a request past its deadline gets a 504 and leaves the model clean (the
next answers are byte-identical to a fresh server's); 500 mixed requests leak no memory."""

from __future__ import annotations

import time
from collections import Counter

import httpx
import pytest
from service_helpers import error, start_server, write_checkpoint

from backend.soak import HealthProbe, burst, mixed_soak, rss_bytes

BURST, HEALTH_LIMIT_S, ARRIVAL_LIMIT_S = 200, 0.1, 0.25
WARM_UP, SOAK, MAX_GROWTH = 50, 500, 0.10
DEADLINE_S = 3.0


@pytest.fixture(scope="module")
def loaded(models_dir, tmp_path_factory):
    """(process, url) of a server of the test models with a short queue (4 per lane)."""
    log = tmp_path_factory.mktemp("loaded") / "server.log"
    process, url = start_server(models_dir, log, TDSNN_QUEUE_SIZE="4", TDSNN_LESION_IMAGES="32")
    yield process, url
    process.terminate()
    process.wait(timeout=30)


def test_a_burst_of_lesions_gets_200_or_503_and_health_stays_fast(loaded):
    _, url = loaded
    body = {"layer": "layer2.0", "units": [1, 2, 3]}
    with HealthProbe(url) as probe:
        answers = burst(url, "/v1/models/mini/lesions", body, BURST)
    statuses = Counter(a.status for a in answers)
    slowest = max(probe.seconds)
    print(f"burst of {BURST} lesions: {dict(statuses)}; /healthz slowest {slowest * 1e3:.1f} ms")
    assert set(statuses) <= {200, 503} and statuses[200] >= 1 and statuses[503] >= 1
    assert all(a.retry_after.isdigit() for a in answers if a.status == 503)
    assert len(probe.seconds) >= 5 and set(probe.statuses) == {200}
    # The one probe that lands while the event loop accepts the 200 connections at once can
    # take 90-130 ms on a 2-core machine (the probe, the burst client and the server share
    # it); every other probe must be under 100 ms, and that one under 250 ms.
    over = [s for s in probe.seconds if s >= HEALTH_LIMIT_S]
    assert len(over) <= 1 and slowest < ARRIVAL_LIMIT_S, probe.seconds


def test_five_hundred_mixed_requests_do_not_grow_the_server(loaded):
    process, url = loaded
    mixed_soak(url, "tiny", "layer1.0", WARM_UP)
    before = rss_bytes(process.pid)
    statuses = mixed_soak(url, "tiny", "layer1.0", SOAK)
    growth = rss_bytes(process.pid) / before - 1
    print(f"{SOAK} mixed requests {dict(sorted(statuses.items()))}: RSS {growth:+.1%}")
    assert all(status < 500 for status in statuses) and statuses[200] > SOAK / 3
    assert growth < MAX_GROWTH


@pytest.fixture(scope="module")
def slow(tmp_path_factory) -> str:
    """A server with a 3 s deadline and a full-size model (sresnet18, 224 px): T = 64 takes
    about 7 s on a CPU thread, T = 1 about 0.1 s."""
    folder = tmp_path_factory.mktemp("slow")
    write_checkpoint(folder / "big.safetensors", name="sresnet18")
    log = folder / "server.log"
    process, url = start_server(folder, log, TDSNN_DEADLINE_S=str(DEADLINE_S))
    yield url
    process.terminate()
    process.wait(timeout=30)


def test_past_its_deadline_a_request_gets_504_and_leaves_the_model_clean(slow):
    spikes, lesioned = "/v1/models/big/spikes", "/v1/models/big/spikes/lesioned"
    light = {"stimulus": {"orientation_deg": 30}, "timesteps": 1}
    heavy = {"stimulus": {"orientation_deg": 60}, "timesteps": 64}
    disc = {"layer": "layer1.0", "x_mm": 1.2, "y_mm": 1.2, "radius_mm": 0.5}
    other = {"layer": "layer2.0", "x_mm": 18.0, "y_mm": 18.0, "radius_mm": 15.0}
    with httpx.Client(base_url=slow, timeout=120) as http:

        def answer(path: str, **request) -> bytes:
            """The first 200 within 60 s: an aborted job stops at its next topographic layer,
            and one layer of sresnet18 at T = 64 can take seconds on a loaded 2-core machine,
            so a request queued right behind it may itself run out of time."""
            give_up = time.monotonic() + 60
            while (reply := http.post(path, **request)).status_code == 504:
                assert time.monotonic() < give_up, "the lane stayed busy for 60 s"
            assert reply.status_code == 200, reply.text
            return reply.content

        def answers() -> list[bytes]:
            return [answer(spikes, json=light), answer(lesioned, params=disc, json=light)]

        fresh = answers()
        for reply in (
            http.post(spikes, json=heavy),
            http.post(lesioned, params=other, json=heavy),
        ):
            assert error(reply, 504)["code"] == "deadline_exceeded"
        # Equal only if neither aborted job left neuron state or the other disc's silencing
        # behind (that the lanes' threads are freed at the next layer: test_deadline_guard).
        assert answers() == fresh
