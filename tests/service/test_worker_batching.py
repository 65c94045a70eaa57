"""Adaptive batching in the inference worker: a lone request runs alone (batch 1, no padding),
a burst shares batches (sizes in powers of two), and every answer is byte-identical to running
the image alone, also for a model whose batched kernels round differently."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import numpy as np
import torch
from torch import nn

from backend.worker import Inference, InferenceWorker
from tdsnn_core.models import create_model

LAYERS = ("a", "b")


class Recorder(nn.Module):
    """A per-image model that records the batch sizes it ran; ``skew`` adds a rounding-sized
    error to batches of more than one image (as a GEMM of more rows may); a forward sets
    ``entered`` and waits for ``gate``."""

    def __init__(self, skew: float = 0.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.linspace(0.5, 1.5, 12))
        self.silencers = nn.ModuleDict()  # where a TDSNN model's deadline guard checks
        self.skew, self.sizes = skew, []
        self.entered, self.gate = threading.Event(), threading.Event()

    def topographic_layers(self) -> list[SimpleNamespace]:
        return [SimpleNamespace(name=n) for n in LAYERS]

    def forward(
        self,
        images: torch.Tensor,
        timesteps: int,
        return_spikes: bool = True,
        per_image_readout: bool = False,
    ):
        self.entered.set()
        self.gate.wait(timeout=30)
        self.sizes.append(images.shape[0])
        flat = images.flatten(1) * self.weight
        logits = flat[:, :3] + (self.skew if images.shape[0] > 1 else 0.0)
        spikes = {
            "a": (flat > 0.7).expand(timesteps, -1, -1),
            "b": (flat > 1.1).expand(timesteps, -1, -1),
        }
        return SimpleNamespace(logits=logits, spikes=spikes)


def images(count: int) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return [torch.rand(3, 2, 2, generator=gen) for _ in range(count)]


def alone(image: torch.Tensor) -> Inference:
    """The image run alone on a fresh model (the reference answer)."""
    model = Recorder()
    model.gate.set()
    with torch.no_grad():
        out = model(image[None], timesteps=4)
    spikes = {n: s[:, 0].numpy() for n, s in out.spikes.items()}
    return Inference(out.logits[0].numpy(), spikes)


def new_worker(model: Recorder) -> InferenceWorker:
    return InferenceWorker(model, "test", max_batch=8, window_s=0.05, capacity=16)


def burst(
    worker: InferenceWorker, model: nn.Module, batch: list[torch.Tensor], layers=LAYERS
) -> list[Inference]:
    """Submit ``batch``, all but the first image while the model (its ``entered`` and ``gate``
    events) holds the first."""
    model.gate.clear()
    model.entered.clear()
    deadline = time.monotonic() + 60
    first, *rest = batch
    futures = [worker.submit(first, 4, layers, deadline)]
    assert model.entered.wait(timeout=30)
    futures += [worker.submit(image, 4, layers, deadline) for image in rest]
    model.gate.set()
    return [f.result(timeout=60) for f in futures]


def assert_alone(results: list[Inference]) -> None:
    for image, got in zip(images(len(results)), results, strict=True):
        want = alone(image)
        assert got.logits.tobytes() == want.logits.tobytes()
        for name in got.spikes:
            assert np.array_equal(got.spikes[name], want.spikes[name])


def test_a_lone_request_runs_alone_without_padding() -> None:
    model = Recorder()
    model.gate.set()
    worker = new_worker(model)
    result = worker.submit(images(1)[0], 4, ("a",), time.monotonic() + 60).result(timeout=30)
    worker.close()
    assert model.sizes == [1] and set(result.spikes) == {"a"}
    assert_alone([result])


def test_a_burst_shares_one_batch_and_answers_as_alone() -> None:
    model = Recorder()
    worker = new_worker(model)
    first = burst(worker, model, images(8))
    # the first alone; the seven behind it in powers of two: a batch of 4, checked once
    # against lone runs, one of 2, checked likewise, and 1 alone
    assert model.sizes == [1, 4, 1, 1, 1, 1, 2, 1, 1, 1]
    assert worker.exact == {(4, 4): True, (4, 2): True}
    model.sizes.clear()
    second = burst(worker, model, images(8))
    worker.close()
    assert model.sizes == [1, 4, 2, 1]  # checked sizes batch without lone runs
    assert_alone(first)
    assert_alone(second)


def test_a_batch_that_rounds_differently_is_answered_image_by_image() -> None:
    model = Recorder(skew=1e-7)
    worker = new_worker(model)
    first = burst(worker, model, images(5))
    assert worker.exact == {(4, 4): False}
    model.sizes.clear()
    second = burst(worker, model, images(4))
    worker.close()
    assert model.sizes == [1, 1, 1, 1]  # no more batches of that T
    assert_alone(first)
    assert_alone(second)


def test_a_real_models_burst_shares_a_batch_byte_for_byte() -> None:
    """sresnet_mini (spikingjelly LIF neurons): with its readout run per image, a batch
    answers every image as running it alone does on this machine's kernels, so a burst
    shares a batch (the service's throughput rests on this); without it, the readout's
    matrix product of 16 rows (4 steps of 4 images) rounds differently from one of 4, and
    the worker would answer every burst image by image."""
    torch.manual_seed(0)
    model = create_model("sresnet_mini", v_threshold=0.3).eval()
    model.entered, model.gate = threading.Event(), threading.Event()

    def hold(*_) -> None:
        model.entered.set()
        model.gate.wait(timeout=30)

    model.register_forward_pre_hook(hold)
    worker = InferenceWorker(model, "real", max_batch=8, window_s=0.05, capacity=16)
    shape = model.config["in_channels"], model.config["input_size"], model.config["input_size"]
    gen = torch.Generator().manual_seed(1)
    batch = [torch.rand(*shape, generator=gen) for _ in range(5)]
    first = burst(worker, model, batch, worker.layers)
    assert worker.exact == {(4, 4): True}
    second = burst(worker, model, batch, worker.layers)  # now one batch, no lone runs
    worker.close()
    with torch.inference_mode():
        for image, *answers in zip(batch, first, second, strict=True):
            want = model(image[None], timesteps=4, return_spikes=True)
            for got in answers:
                assert got.logits.tobytes() == want.logits[0].numpy().tobytes()
                for name, spikes in want.spikes.items():
                    assert np.array_equal(got.spikes[name], spikes[:, 0].bool().numpy())


def test_finish_runs_on_the_worker_and_a_failing_one_fails_its_job_alone() -> None:
    """``finish`` turns a job's inference into its answer on the worker's thread (the spikes
    route packs small binary answers there); one that raises fails that job, and the worker
    answers the jobs after it."""
    model = Recorder()
    model.gate.set()
    worker = new_worker(model)
    threads = []

    def packed(inference: Inference) -> bytes:
        threads.append(threading.current_thread().name)
        return inference.logits.tobytes()

    def broken(_: Inference) -> bytes:
        raise ValueError("cannot pack")

    deadline = time.monotonic() + 60
    image = images(1)[0]
    good = worker.submit(image, 4, ("a",), deadline, packed).result(timeout=30)
    failed = worker.submit(image, 4, ("a",), deadline, broken)
    after = worker.submit(image, 4, ("a",), deadline).result(timeout=30)
    worker.close()
    assert good == alone(image).logits.tobytes() and threads == ["infer-test"]
    assert isinstance(failed.exception(timeout=30), ValueError)
    assert_alone([after])
