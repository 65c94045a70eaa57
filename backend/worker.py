"""One inference thread per model: requests wait in a bounded queue and run from reset state,
never concurrently on the same modules; requests that queue up together run as one batch when
that batch is known to answer each of them exactly as running it alone would."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
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
    finish: Callable[[Inference], object] | None = None
    future: Future = field(default_factory=Future)


class InferenceWorker:
    """Owns ``model`` on a daemon thread and runs submitted images through it.

    At most ``capacity`` jobs wait; more raise :class:`~backend.lanes.Busy`. A job that has
    not finished by its deadline fails with :class:`~backend.lanes.DeadlineExceeded`.

    Adaptive batching: a job that finds the queue empty runs alone at once (batch 1, no
    padding, no waiting). Jobs that queued up meanwhile (a burst) are taken together, with
    up to ``window_s`` more to gather at most ``max_batch``, and run per T in batches whose
    sizes are powers of two, largest first (13 jobs: 8, 4 and 1). The readout runs per
    image (``per_image_readout``: a linear layer's product of 4 rows and of 32 rows round
    differently), but whether the layers before it answer every image exactly as running it
    alone depends on the device's kernels, so the first batch of each (T, size) is checked
    against running each of its images alone, byte for byte, and answered from the lone
    runs; once a size differs, every batch of that T runs image by image. Powers of two bound
    those checks to log2(``max_batch``) sizes per T: with every size from 2 to 32 a burst of
    many clients kept meeting unchecked sizes, and each check costs a batch beside the lone
    runs.
    """

    def __init__(
        self, model: TopographicSNN, name: str, max_batch: int, window_s: float, capacity: int
    ) -> None:
        self.model = model
        self.guard = DeadlineGuard(model)
        self.device = next(model.parameters()).device
        self.layers = tuple(t.name for t in model.topographic_layers())
        self.max_batch = max_batch
        self.window_s = window_s
        self.exact: dict[tuple[int, int], bool] = {}  # (T, size): batch == alone, byte for byte
        self.inexact_steps: set[int] = set()  # T with some inexact size: no more checks
        self._queue: BoundedQueue[_Job] = BoundedQueue(capacity)
        self._thread = threading.Thread(target=self._loop, name=f"infer-{name}", daemon=True)
        self._thread.start()

    def admit(self) -> None:
        """Raise :class:`~backend.lanes.Busy` if the worker's queue is full."""
        self._queue.admit()

    def submit(
        self,
        image: torch.Tensor,
        timesteps: int,
        layers: tuple[str, ...],
        deadline: float,
        finish: Callable[[Inference], object] | None = None,
    ) -> Future:
        """Queue one image [C, H, W] due by ``deadline`` (time.monotonic); the future resolves
        to an :class:`Inference`, or to ``finish(inference)``, run on the worker's thread right
        after the forward pass while its spikes are still in cache (for a small answer, such
        as packing them: a job that ``finish`` fails fails alone)."""
        job = _Job(image, timesteps, layers, deadline, finish)
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
                    self._answer(list(group))
                if stop:
                    return

    def _gather(self, first: _Job) -> tuple[list[_Job], bool]:
        """``first`` and the jobs queued behind it (none: ``first`` runs alone at once); a burst
        waits up to ``window_s`` for more, up to ``max_batch``."""
        jobs, deadline = [first], None
        while len(jobs) < self.max_batch:
            try:
                if deadline is None:
                    job = self._queue.get(timeout=0.0)
                    deadline = time.monotonic() + self.window_s
                else:
                    job = self._queue.get(timeout=max(deadline - time.monotonic(), 0.0))
            except queue.Empty:
                break
            if job is None:
                return jobs, True
            jobs.append(job)
        return jobs, False

    def _answer(self, jobs: list[_Job]) -> None:
        """Answer jobs of one T in batches of powers of two, largest first."""
        start = 0
        while start < len(jobs):
            size = 1 << ((len(jobs) - start).bit_length() - 1)
            self._answer_batch(jobs[start : start + size])
            start += size

    def _answer_batch(self, jobs: list[_Job]) -> None:
        """Answer jobs of one T: as one batch where that is exact, else one by one."""
        key = (jobs[0].timesteps, len(jobs))
        if len(jobs) == 1 or not self.exact.get(key, key[0] not in self.inexact_steps):
            for job in jobs:
                self._reply([job], self._run([job], job.layers))
            return
        if key in self.exact:
            self._reply(jobs, self._run(jobs, tuple({n for j in jobs for n in j.layers})))
            return
        batch = self._run(jobs, self.layers)
        if isinstance(batch, Exception):
            self._reply(jobs, batch)
            return
        alone = [self._run([job], self.layers) for job in jobs]
        if not any(isinstance(a, Exception) for a in alone):
            self.exact[key] = all(_same(a[0], b) for a, b in zip(alone, batch, strict=True))
            if not self.exact[key]:
                self.inexact_steps.add(key[0])
        for job, result in zip(jobs, alone, strict=True):
            self._reply([job], result)

    def _run(self, jobs: list[_Job], layers: tuple[str, ...]) -> list[Inference] | Exception:
        """Each job's :class:`Inference` (spikes of ``layers``) from one forward pass of their
        images, or the error that failed it."""
        start = time.monotonic()
        try:
            images = torch.stack([j.image for j in jobs]).to(self.device)
            with self.guard.until(max(j.deadline for j in jobs)):
                out = self.model(
                    images, timesteps=jobs[0].timesteps, return_spikes=True, per_image_readout=True
                )
            spikes = {n: out.spikes[n].bool().cpu().numpy() for n in layers}
            logits = out.logits.float().cpu().numpy()
        except Exception as exc:  # a failed batch fails its requests, not the worker
            return exc
        finally:
            self._queue.took((time.monotonic() - start) / len(jobs))
        return [
            Inference(logits[i], {n: s[:, i] for n, s in spikes.items()}) for i in range(len(jobs))
        ]

    @staticmethod
    def _reply(jobs: list[_Job], results: list[Inference] | Exception) -> None:
        for i, job in enumerate(jobs):
            if isinstance(results, Exception):
                job.future.set_exception(results)
                continue
            inference = Inference(results[i].logits, {n: results[i].spikes[n] for n in job.layers})
            try:
                job.future.set_result(job.finish(inference) if job.finish else inference)
            except Exception as exc:  # a failed finish fails its job, not the worker
                job.future.set_exception(exc)


def _same(a: Inference, b: Inference) -> bool:
    """Byte-identical logits and spikes."""
    return a.logits.tobytes() == b.logits.tobytes() and all(
        np.array_equal(a.spikes[n], b.spikes[n]) for n in a.spikes
    )
