"""DeadlineGuard: a forward pass that runs past its deadline aborts within the model and
leaves no neuron state behind (the next pass equals a fresh model's, byte for byte)."""

from __future__ import annotations

import copy
import time

import pytest
import torch

from backend.lanes import DeadlineExceeded, DeadlineGuard
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
