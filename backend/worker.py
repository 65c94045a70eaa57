"""One inference thread per model: requests wait in a bounded queue and run from reset state,
never concurrently on the same modules; on CUDA, concurrent requests run as micro-batches."""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from itertools import groupby

import numpy as np
import torch

from backend.lanes import BoundedQueue, DeadlineGuard, lower_priority
from tdsnn_core.models import TopographicSNN


@dataclass(frozen=True)
class Inference:
    """One image's time-averaged logits [K] and spikes {layer: bool [T, C, H, W]}."""

    logits: np.ndarray
    spikes: dict[str, np.ndarray]


@dataclass
class _Job:
    image: torch.Tensor
    timesteps: int
    layers: tuple[str, ...]
    deadline: float
    future: Future = field(default_factory=Future)


class InferenceWorker:
    """Owns ``model`` on a daemon thread and runs submitted images through it.

    At most ``capacity`` jobs wait; more raise :class:`~backend.lanes.Busy`. A job that has
    not finished by its deadline fails with :class:`~backend.lanes.DeadlineExceeded`.

    On CPU every job runs alone. On CUDA the thread waits up to ``window_s`` after a job
    arrives to gather up to ``max_batch`` jobs with the same T and runs them as one batch,
    padded with blank images to ``max_batch`` so the kernels (and the numbers) do not depend
    on how many requests happened to arrive together.
    """

    def __init__(
        self, model: TopographicSNN, name: str, max_batch: int, window_s: float, capacity: int
    ) -> None:
        self.model = model
        self.guard = DeadlineGuard(model)
        self.device = next(model.parameters()).device
        self.padded = self.device.type == "cuda"
        self.max_batch = max_batch if self.padded else 1
        self.window_s = window_s
        self._queue: BoundedQueue[_Job] = BoundedQueue(capacity)
        self._thread = threading.Thread(target=self._loop, name=f"infer-{name}", daemon=True)
        self._thread.start()

    def admit(self) -> None:
        """Raise :class:`~backend.lanes.Busy` if the worker's queue is full."""
        self._queue.admit()

    def submit(
        self, image: torch.Tensor, timesteps: int, layers: tuple[str, ...], deadline: float
    ) -> Future:
        """Queue one image [C, H, W] due by ``deadline`` (time.monotonic); the future resolves
        to an :class:`Inference`."""
        job = _Job(image, timesteps, layers, deadline)
        self._queue.put(job)
        return job.future

    def close(self) -> None:
        self._queue.close()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        lower_priority()
        with torch.inference_mode():
            while (job := self._queue.get()) is not None:
                jobs, stop = self._gather(job)
                live = sorted(
                    (j for j in jobs if j.future.set_running_or_notify_cancel()),
                    key=lambda j: j.timesteps,
                )
                for _, group in groupby(live, key=lambda j: j.timesteps):
                    self._run(list(group))
                if stop:
                    return

    def _gather(self, first: _Job) -> tuple[list[_Job], bool]:
        jobs, deadline = [first], time.monotonic() + self.window_s
        while len(jobs) < self.max_batch:
            try:
                job = self._queue.get(timeout=max(deadline - time.monotonic(), 0.0))
            except queue.Empty:
                break
            if job is None:
                return jobs, True
            jobs.append(job)
        return jobs, False

    def _run(self, jobs: list[_Job]) -> None:
        start = time.monotonic()
        try:
            images = torch.stack([j.image for j in jobs]).to(self.device)
            if self.padded and len(jobs) < self.max_batch:
                blank = images.new_zeros(self.max_batch - len(jobs), *images.shape[1:])
                images = torch.cat([images, blank])
            with self.guard.until(max(j.deadline for j in jobs)):
                out = self.model(images, timesteps=jobs[0].timesteps, return_spikes=True)
            names = {name for j in jobs for name in j.layers}
            spikes = {n: out.spikes[n][:, : len(jobs)].bool().cpu().numpy() for n in names}
            logits = out.logits[: len(jobs)].float().cpu().numpy()
        except Exception as exc:  # a failed batch fails its requests, not the worker
            for job in jobs:
                job.future.set_exception(exc)
            return
        finally:
            self._queue.took(time.monotonic() - start)
        for i, job in enumerate(jobs):
            job.future.set_result(Inference(logits[i], {n: spikes[n][:, i] for n in job.layers}))
