"""DeadlineGuard: a forward pass that runs past its deadline aborts within the model and
leaves no neuron state behind (the next pass equals a fresh model's, byte for byte); an
analysis lane's job past its deadline frees the lane's thread at the next model pass."""

from __future__ import annotations

import copy
import time

import pytest
import torch

from backend.lanes import AnalysisLane, DeadlineExceeded, DeadlineGuard
from tdsnn_core.data import sine_grating
from tdsnn_core.models import create_model


def test_a_pass_past_its_deadline_aborts_and_leaves_the_model_clean():
    torch.manual_seed(0)
    model = create_model("sresnet_mini", v_threshold=0.25).eval()
    fresh = copy.deepcopy(model)
    image = sine_grating(model.config["input_size"], 30.0, 4.0)[None]
    guard = DeadlineGuard(model)
    stem_conv = next(m for m in model.stem.modules() if isinstance(m, torch.nn.Conv2d))
    stall = stem_conv.register_forward_hook(lambda *_: time.sleep(0.2))  # a leaf, mid-pass
    with torch.inference_mode():
        with pytest.raises(DeadlineExceeded), guard.until(time.monotonic() + 0.1):
            model(image, return_spikes=True)
        stall.remove()
        with guard.until(time.monotonic() + 3600):
            after = model(image, return_spikes=True)
        expected = fresh(image, return_spikes=True)
    assert torch.equal(after.logits, expected.logits)
    assert all(torch.equal(after.spikes[n], expected.spikes[n]) for n in expected.spikes)


def test_a_lane_job_past_its_deadline_frees_the_thread_at_the_next_pass():
    torch.manual_seed(0)
    model = create_model("sresnet_mini", v_threshold=0.25).eval()
    image = sine_grating(model.config["input_size"], 30.0, 4.0)[None]
    stem_conv = next(m for m in model.stem.modules() if isinstance(m, torch.nn.Conv2d))
    stem_conv.register_forward_hook(lambda *_: time.sleep(0.05))  # 50 ms a pass

    def passes(count: int) -> int:
        with torch.inference_mode():
            for _ in range(count):
                model(image)
        return count

    lane = AnalysisLane(model, "test", capacity=2)
    try:
        start = time.monotonic()
        long_job = lane.submit(passes, 200, deadline=start + 0.3)  # 10 s if never aborted
        quick_job = lane.submit(passes, 1, deadline=start + 3600)
        with pytest.raises(DeadlineExceeded):
            long_job.result(timeout=60)
        assert quick_job.result(timeout=60) == 1
        freed_after = time.monotonic() - start
    finally:
        lane.close()
    print(f"a 10 s job with a 0.3 s deadline freed the lane after {freed_after:.2f} s")
    assert freed_after < 5.0
