"""Bounded work queues and deadlines for the model threads.

:class:`BoundedQueue` refuses work when full (:class:`Busy`, with a Retry-After estimate)
instead of queueing without limit. :class:`DeadlineGuard` aborts a model's forward pass once
its deadline has passed (a forward pre-hook on the model and on each topographic layer's
silencer raises :class:`DeadlineExceeded`) and resets the neuron state, so an aborted job
leaves nothing behind. :class:`AnalysisLane` is a model's analysis thread (maps, lesions,
lesioned spikes) built from both.
"""

from __future__ import annotations

import math
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from spikingjelly.activation_based import functional
from torch import nn

from tdsnn_core.models import TopographicSNN

T = TypeVar("T")


MODEL_THREAD_NICE = 10


def lower_priority() -> None:
    """Make the calling (model) thread yield the CPU to the event loop when they compete, so
    requests are answered, or refused, promptly while models run (Linux: per-thread nice)."""
    if hasattr(os, "setpriority"):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), MODEL_THREAD_NICE)


class Busy(Exception):
    """The queue is full; ``headers`` say when to retry (Retry-After, seconds)."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"this model is busy (queue full); retry after {retry_after_s} s")
        self.headers = {"Retry-After": str(retry_after_s)}


class DeadlineExceeded(Exception):
    """The job's deadline passed before it finished."""


class BoundedQueue(Generic[T]):
    """A FIFO of at most ``capacity`` waiting items; tracks how long an item takes."""

    def __init__(self, capacity: int) -> None:
        self._queue: queue.Queue[T | None] = queue.Queue(maxsize=capacity)
        self._seconds_per_item = 0.0

    def put(self, item: T) -> None:
        """Queue ``item`` or raise :class:`Busy` at once."""
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            raise self._busy() from None

    def admit(self) -> None:
        """Raise :class:`Busy` if the queue is full now (a cheap check before the work of
        reading a request; :meth:`put` still decides)."""
        if self._queue.full():
            raise self._busy()

    def _busy(self) -> Busy:
        wait = (self._queue.qsize() + 1) * self._seconds_per_item
        return Busy(max(1, math.ceil(wait)))

    def get(self, timeout: float | None = None) -> T | None:
        """The next item (None: closed); raises queue.Empty after ``timeout``."""
        return self._queue.get(timeout=timeout)

    def close(self) -> None:
        self._queue.put(None)  # blocks only while full: the thread is draining it

    def took(self, seconds: float) -> None:
        """Record an item's run time (a moving average feeds Retry-After)."""
        self._seconds_per_item = 0.8 * self._seconds_per_item + 0.2 * seconds


class DeadlineGuard:
    """Makes ``model``'s forward passes abort with :class:`DeadlineExceeded` past a deadline.

    The deadline is checked on entering the model and after each topographic layer (on
    entering its silencer, a cheap leaf every TDSNN model calls there), not on every block: a
    hooked module call takes torch's slow path, and hooks on all 36 modules with submodules
    of sresnet_mini cost 2 % of a lone 28 px request (30 calls, 160 us of 7.1 ms).
    """

    def __init__(self, model: TopographicSNN) -> None:
        self.model = model
        self._deadline = math.inf
        for module in (model, *model.silencers.values()):
            module.register_forward_pre_hook(self._check)

    def _check(self, _module: nn.Module, _args: Any) -> None:
        if time.monotonic() > self._deadline:
            raise DeadlineExceeded

    @contextmanager
    def until(self, deadline: float) -> Iterator[None]:
        """Within the block, forward passes past ``deadline`` (time.monotonic) abort; the
        neuron state is reset after an abort."""
        if time.monotonic() > deadline:
            raise DeadlineExceeded
        self._deadline = deadline
        try:
            yield
        except DeadlineExceeded:
            functional.reset_net(self.model)
            raise
        finally:
            self._deadline = math.inf


class _Call:
    def __init__(self, fn: Callable[..., Any], args: tuple, deadline: float) -> None:
        self.fn, self.args, self.deadline = fn, args, deadline
        self.future: Future = Future()


class AnalysisLane:
    """One thread that runs analysis calls on ``model`` one at a time, from a bounded queue."""

    def __init__(self, model: TopographicSNN, name: str, capacity: int) -> None:
        self.guard = DeadlineGuard(model)
        self._queue: BoundedQueue[_Call] = BoundedQueue(capacity)
        self._thread = threading.Thread(target=self._loop, name=f"analysis-{name}", daemon=True)
        self._thread.start()

    def admit(self) -> None:
        """Raise :class:`Busy` if the lane's queue is full."""
        self._queue.admit()

    def submit(self, fn: Callable[..., Any], *args: Any, deadline: float) -> Future:
        """Queue ``fn(*args)`` (raises :class:`Busy` when full); it must finish by
        ``deadline`` (time.monotonic) or its future fails with :class:`DeadlineExceeded`."""
        call = _Call(fn, args, deadline)
        self._queue.put(call)
        return call.future

    def close(self) -> None:
        self._queue.close()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        lower_priority()
        while (call := self._queue.get()) is not None:
            if not call.future.set_running_or_notify_cancel():
                continue
            start = time.monotonic()
            try:
                with self.guard.until(call.deadline):
                    result = call.fn(*call.args)
            except Exception as exc:  # a failed call fails its request, not the lane
                call.future.set_exception(exc)
            else:
                call.future.set_result(result)
            self._queue.took(time.monotonic() - start)
