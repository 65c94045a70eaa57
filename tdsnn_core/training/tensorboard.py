"""TensorBoard logging of a training run (``run.tensorboard``): event files in OUT_DIR/tensorboard.

Per step (tags ``step/*``): the task loss, L_L, L_S, the total loss, the learning rate, images/s
and the topographic loss's share of the step time. Per epoch (``epoch/*``): every value that
``metrics.jsonl`` records, each layer's firing rate on test images (``firing_rate/*``) and the
first V1 sheet's orientation map as an image with its TDANN smoothness (``v1/*``). Only the main
process (rank 0 under torchrun) writes; on the others every method does nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from torch.utils.data import Dataset

    from tdsnn_core.models import TopographicSNN
    from tdsnn_core.sheets.sheet import CorticalSheet

RATE_IMAGES = 64  # test images whose spikes give each layer's firing rate per epoch
MAP_SAMPLES = 5  # smoothness samples of the V1 map: about 2 s per epoch for sresnet_mini


class TrainingBoard:
    """Writes a run's TensorBoard events; inert when ``enabled`` is False."""

    def __init__(self, log_dir: Path, enabled: bool, device: torch.device) -> None:
        self.log_dir, self.device = log_dir, device
        self.writer = None
        if enabled:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(log_dir), flush_secs=10)
        self._step_started = time.perf_counter()
        self._topographic_s = 0.0

    def _now(self) -> float:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)  # honest timings of asynchronous kernels
        return time.perf_counter()

    @contextmanager
    def timed_topography(self) -> Iterator[None]:
        """Time the topographic loss of the current step (its forward computation; the
        backward pass is shared with the task loss and not split)."""
        if self.writer is None:
            yield
            return
        started = self._now()
        yield
        self._topographic_s += self._now() - started

    def log_step(self, step: int, images: int, lr: float, **losses: torch.Tensor) -> None:
        """Scalars of one optimizer step; ``images`` is the batch over all processes."""
        if self.writer is None:
            return
        now = self._now()
        elapsed = max(now - self._step_started, 1e-12)
        for name, value in losses.items():
            self.writer.add_scalar(f"step/{name}", value.item(), step)
        self.writer.add_scalar("step/lr", lr, step)
        self.writer.add_scalar("step/images_per_s", images / elapsed, step)
        self.writer.add_scalar("step/topographic_share", self._topographic_s / elapsed, step)
        self._step_started, self._topographic_s = now, 0.0

    def log_epoch(
        self,
        epoch: int,
        metrics: Mapping[str, float],
        model: TopographicSNN,
        sheets: Mapping[str, CorticalSheet],
        test_set: Dataset,
    ) -> None:
        """The epoch's metrics, firing rates and V1 orientation map (at step ``epoch``)."""
        if self.writer is None:
            return
        from tdsnn_core.recording import record_rates  # the analysis stack: only when logging

        for name, value in metrics.items():
            self.writer.add_scalar(f"epoch/{name}", float(value), epoch)
        images = torch.stack([test_set[i][0] for i in range(min(RATE_IMAGES, len(test_set)))])
        for layer, rates in record_rates(model, images, list(sheets)).items():
            self.writer.add_scalar(f"firing_rate/{layer}", float(rates.mean()), epoch)
        self._log_orientation_map(epoch, model, sheets)
        self.writer.flush()
        self._step_started = self._now()  # evaluation is not part of the next step

    def _log_orientation_map(
        self, epoch: int, model: TopographicSNN, sheets: Mapping[str, CorticalSheet]
    ) -> None:
        import numpy as np
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        from tdsnn_core.experiments.layer_maps import area_layer, layer_orientation_map
        from tdsnn_core.experiments.settings import AnalysisSettings
        from tdsnn_core.reports.figures import orientation_panel

        layer = area_layer(sheets, "V1")
        settings = AnalysisSettings(smoothness_samples=MAP_SAMPLES)
        try:
            om = layer_orientation_map(model, sheets[layer], settings)
        except ValueError as exc:  # an untrained model may not respond to gratings
            self.writer.add_text("v1/orientation_map", f"no map of {layer}: {exc}", epoch)
            return
        self.writer.add_scalar("v1/smoothness", om.smoothness.score, epoch)
        fig = Figure(figsize=(5, 4), layout="constrained")
        label = f"{layer}, epoch {epoch}, smoothness {om.smoothness.score:.2f}"
        orientation_panel(fig, fig.subplots(), om, label)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        pixels = np.asarray(canvas.buffer_rgba())[..., :3]
        self.writer.add_image("v1/orientation_map", pixels, epoch, dataformats="HWC")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
