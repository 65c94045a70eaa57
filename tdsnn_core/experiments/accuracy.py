"""Top-1 of several models scored on the same labelled images, with bootstrap intervals: each
model's accuracy, and each model's paired difference from the first (``tdsnn eval --compare``,
and the top-1 part of ``tdsnn analyze``).

A difference of 1.4 points on 2,000 images is not a fact until its interval says so: the paired
bootstrap resamples the images once for both models, so what they share (the same hard images)
cancels out of the difference instead of widening it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader

from tdsnn_core.analysis.intervals import Interval, bootstrap_interval, paired_difference
from tdsnn_core.data.sources import dataset_groups, source_count
from tdsnn_core.models import TopographicSNN
from tdsnn_core.recording import predict


@dataclass(frozen=True)
class ScoredImages:
    """Whether a model's top-1 is right on each image of a labelled dataset, its labels, and
    the source image of each (None: every image independent)."""

    correct: np.ndarray
    labels: np.ndarray
    sources: np.ndarray | None

    def interval(self, seed: int = 0) -> Interval:
        """Top-1 in % with its 95 % bootstrap interval over (source) images."""
        return bootstrap_interval(100.0 * self.correct, groups=self.sources, seed=seed)


def score_dataset(
    model: TopographicSNN, dataset, batch_size: int = 64, timesteps: int | None = None
) -> ScoredImages:
    """:class:`ScoredImages` of ``model`` on every item of ``dataset``, streamed in batches
    (a test set need not fit in memory)."""
    correct, labels = [], []
    with torch.inference_mode():
        for images, targets in DataLoader(dataset, batch_size=batch_size):
            targets = np.asarray(targets)
            correct.append(predict(model, images, batch_size, timesteps=timesteps) == targets)
            labels.append(targets)
    if not labels:
        raise ValueError("the dataset has no images to score")
    return ScoredImages(np.concatenate(correct), np.concatenate(labels), dataset_groups(dataset))


@dataclass(frozen=True)
class Top1Comparison:
    """Per model (in order), top-1 in % with its interval, and the paired difference in points
    from the first model (None for the first)."""

    names: list[str]
    top1: list[Interval]
    difference: list[Interval | None]
    images: int
    sources: int

    def lines(self) -> list[str]:
        """One line per model, for the terminal."""
        out = []
        for name, top1, diff in zip(self.names, self.top1, self.difference, strict=True):
            line = f"{name}: top-1 {_fmt(top1)} %"
            if diff is not None:
                line += f"   {self.names[0]} minus this: {_fmt(diff, signed=True)} points"
            out.append(line)
        return out


def compare_top1(
    correct: Mapping[str, np.ndarray],
    *,
    groups: np.ndarray | None = None,
    level: float = 0.95,
    seed: int = 0,
) -> Top1Comparison:
    """Top-1 intervals of every model and paired intervals of (first model - each other);
    ``groups`` (the source image of each image) makes every draw resample whole sources, so
    that variants of one image do not count as independent evidence."""
    names = list(correct)
    scores = [100.0 * np.asarray(correct[name], dtype=float) for name in names]
    if not names or any(s.shape != scores[0].shape for s in scores):
        raise ValueError("compared models must be scored on the same images")
    common = {"groups": groups, "level": level, "seed": seed}
    top1 = [bootstrap_interval(s, **common) for s in scores]
    difference = [None] + [paired_difference(scores[0], s, **common) for s in scores[1:]]
    n_images = len(scores[0])
    return Top1Comparison(names, top1, difference, n_images, source_count(n_images, groups))


def _fmt(interval: Interval, signed: bool = False) -> str:
    sign = "+" if signed else ""
    return f"{interval.estimate:{sign}.2f} [{interval.low:{sign}.2f}, {interval.high:{sign}.2f}]"
