"""The real schemathesis runner (its CLI, every phase and every check) against a real server
finds no failure: the OpenAPI document tells the truth about every answer.

Budget: at most MAX_EXAMPLES cases per operation and phase, and MAX_TIME seconds in all.
Settings, each with its reason:

* ``--max-response-time`` is the server's own deadline (TDSNN_DEADLINE_S): the service
  promises an answer within it (a 504 past it, which not_a_server_error would report).
* The image parts of the spikes routes are generated as real PNG and JPEG images by
  ``schemathesis_hooks.py``: JSON Schema cannot express "a decodable image".

No check is excluded.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from service_helpers import TINY, start_server, write_checkpoint

HERE = Path(__file__).resolve().parent
MAX_EXAMPLES, MAX_TIME, DEADLINE_S = 25, 90, 60
SUMMARY = re.compile(r"^=+ (.+ in [\d.]+s) =+$", re.MULTILINE)  # the runner's last line
CASES = re.compile(r"^ *(\d+ generated, .*)$", re.MULTILINE)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    """A server of the tiny test model (its maps take a second, where the 3,136-unit V1 of
    the mini model's patch map takes 53 s, mostly its smoothness nulls) and of a corrupt file,
    with small lesion and probe sets (fast cases)."""
    folder = tmp_path_factory.mktemp("fuzz")
    write_checkpoint(folder / "tiny.safetensors", **TINY)
    (folder / "corrupt.safetensors").write_bytes(b"\x00\x01 not a checkpoint")
    log = folder / "server.log"
    process, url = start_server(
        folder,
        log,
        TDSNN_LESION_IMAGES="16",
        TDSNN_PROBES_PER_CATEGORY="4",
        TDSNN_DEADLINE_S=str(DEADLINE_S),
    )
    yield url, log
    process.terminate()
    process.wait(timeout=30)


def test_the_real_runner_finds_no_failure(fuzzed, tmp_path):
    url, log = fuzzed
    runner = Path(sys.executable).with_name("schemathesis")
    command = [
        str(runner),
        "run",
        f"{url}/openapi.json",
        "--checks=all",
        "--phases=examples,coverage,fuzzing,stateful",
        f"--max-examples={MAX_EXAMPLES}",
        f"--max-time={MAX_TIME}",
        f"--max-response-time={DEADLINE_S}",
        f"--request-timeout={DEADLINE_S + 30}",
        "--workers=1",
        "--seed=0",
        "--no-color",
        f"--report-dir={tmp_path}",
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "schemathesis_hooks", "PYTHONPATH": str(HERE)}
    run = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=MAX_TIME + 120
    )
    output = run.stdout + run.stderr
    summary, cases = SUMMARY.findall(output), CASES.findall(output)
    print(f"schemathesis: {cases[-1] if cases else ''}; {summary[-1] if summary else ''}")
    assert run.returncode == 0, output[-20_000:]
    assert summary and summary[-1].startswith("No issues found"), output[-20_000:]
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert f"✅ {phase}" in output, phase
    assert "Traceback" not in log.read_text()
