"""Lesions: silence a layer's units inside a disc of the cortical sheet (or any unit set)
and measure per-category accuracy before and after, against a random control lesion.

Accuracy comes from a *scorer*, a callable ``scorer(lesions) -> accuracy per category``
where ``lesions`` maps layer names to flat unit indices (empty for the intact model):
:class:`ClassifierScorer` uses the model's own output on a labelled dataset,
:class:`ReadoutScorer` a linear readout of one layer fitted to a probe set on the intact
model (for categories the model was not trained on).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from tdsnn_core.analysis.probes import ProbeSet
from tdsnn_core.models import TopographicSNN, lesioned
from tdsnn_core.recording import record_rates
from tdsnn_core.sheets import CorticalSheet

Lesions = Mapping[str, np.ndarray]
Scorer = Callable[[Lesions], np.ndarray]


def disc_units(positions: np.ndarray, centre: Sequence[float], radius_mm: float) -> np.ndarray:
    """Flat indices (ascending) of the units within ``radius_mm`` of ``centre`` (x, y in mm)."""
    if radius_mm < 0:
        raise ValueError(f"lesion radius must be >= 0 mm, got {radius_mm}")
    distance = np.linalg.norm(np.asarray(positions) - np.asarray(centre, dtype=float), axis=1)
    return np.flatnonzero(distance <= radius_mm)


def random_units(n_units: int, count: int, seed: int = 0) -> np.ndarray:
    """``count`` distinct unit indices (ascending) drawn uniformly from ``n_units``."""
    if not 0 <= count <= n_units:
        raise ValueError(f"cannot draw {count} distinct units from a layer of {n_units}")
    return np.sort(np.random.default_rng(seed).choice(n_units, size=count, replace=False))


def _accuracy_per_category(
    predicted: np.ndarray, labels: np.ndarray, n_categories: int
) -> np.ndarray:
    hits = np.bincount(labels, weights=predicted == labels, minlength=n_categories)
    totals = np.bincount(labels, minlength=n_categories)
    if np.any(totals == 0):
        raise ValueError(f"categories {np.flatnonzero(totals == 0).tolist()} have no test image")
    return hits / totals


@dataclass
class ClassifierScorer:
    """Per-class accuracy of the model's own predictions on labelled images [N, C, H, W]."""

    model: TopographicSNN
    images: torch.Tensor
    labels: np.ndarray
    categories: tuple[str, ...]
    batch_size: int = 64
    timesteps: int | None = None

    @torch.no_grad()
    def __call__(self, lesions: Lesions | None = None) -> np.ndarray:
        self.model.eval()
        device = next(self.model.parameters()).device
        predicted = []
        with lesioned(self.model, lesions or {}):
            for start in range(0, len(self.images), self.batch_size):
                batch = self.images[start : start + self.batch_size].to(device)
                predicted.append(self.model(batch, timesteps=self.timesteps).argmax(1).cpu())
        return _accuracy_per_category(
            torch.cat(predicted).numpy(), np.asarray(self.labels), len(self.categories)
        )


@dataclass
class ReadoutScorer:
    """Per-category accuracy of a logistic-regression readout of ``layer``'s firing rates.

    The readout is fitted once on the intact model's responses to half of the probes (every
    other image of each category) and scores the other half, with or without a lesion.
    """

    model: TopographicSNN
    layer: str
    images: torch.Tensor
    labels: np.ndarray
    categories: tuple[str, ...]
    readout: LogisticRegression
    batch_size: int = 64

    @classmethod
    def fit(cls, model: TopographicSNN, probes: ProbeSet, layer: str, batch_size: int = 64):
        """Fit the readout on the even-numbered probes of each category."""
        if len(probes.categories) < 2:
            raise ValueError("a category readout needs probes of at least 2 categories")
        rank = np.zeros(len(probes.labels), dtype=int)
        for label in np.unique(probes.labels):
            members = np.flatnonzero(probes.labels == label)
            rank[members] = np.arange(len(members))
        train, test = rank % 2 == 0, rank % 2 == 1
        if len(np.unique(probes.labels[test])) < len(probes.categories):
            raise ValueError("the readout needs at least 2 probes of every category")
        rates = record_rates(model, probes.images[train], [layer], batch_size)[layer]
        readout = LogisticRegression(max_iter=2000).fit(rates, probes.labels[train])
        return cls(
            model,
            layer,
            probes.images[test],
            probes.labels[test],
            probes.categories,
            readout,
            batch_size,
        )

    def __call__(self, lesions: Lesions | None = None) -> np.ndarray:
        with lesioned(self.model, lesions or {}):
            rates = record_rates(self.model, self.images, [self.layer], self.batch_size)
        predicted = self.readout.predict(rates[self.layer])
        return _accuracy_per_category(predicted, self.labels, len(self.categories))


@dataclass(frozen=True)
class LesionEffect:
    """Accuracy per category before, after the lesion and after a random control lesion of
    the same number of units in the same layer; ``centre_mm``/``radius_mm`` for disc lesions."""

    layer: str
    n_units: int
    before: np.ndarray
    after: np.ndarray
    control_after: np.ndarray
    centre_mm: tuple[float, float] | None = None
    radius_mm: float | None = None

    @property
    def deficit(self) -> np.ndarray:
        """Accuracy lost per category (before - after)."""
        return self.before - self.after

    @property
    def control_deficit(self) -> np.ndarray:
        return self.before - self.control_after


def unit_lesion(
    scorer: Scorer,
    layer: str,
    units: np.ndarray,
    n_layer_units: int,
    *,
    seed: int = 0,
    before: np.ndarray | None = None,
) -> LesionEffect:
    """Silence ``units`` of ``layer``; compare with ``before`` (scored if not given) and with
    a control of as many random units of the layer."""
    units = np.asarray(units, dtype=int)
    before = scorer({}) if before is None else before
    control = random_units(n_layer_units, len(units), seed)
    return LesionEffect(layer, len(units), before, scorer({layer: units}), scorer({layer: control}))


def disc_lesion(
    scorer: Scorer,
    sheet: CorticalSheet,
    centre_mm: Sequence[float],
    radius_mm: float,
    *,
    seed: int = 0,
    before: np.ndarray | None = None,
) -> LesionEffect:
    """Silence every unit of ``sheet.layer`` within ``radius_mm`` of ``centre_mm``."""
    units = disc_units(sheet.positions, centre_mm, radius_mm)
    effect = unit_lesion(scorer, sheet.layer, units, sheet.num_units, seed=seed, before=before)
    centre = (float(centre_mm[0]), float(centre_mm[1]))
    return replace(effect, centre_mm=centre, radius_mm=float(radius_mm))


def lesion_sweep(
    scorer: Scorer,
    sheet: CorticalSheet,
    centre_mm: Sequence[float],
    radii_mm: Sequence[float],
    *,
    seed: int = 0,
) -> list[LesionEffect]:
    """Disc lesions of growing radius around one centre (the intact model scored once)."""
    before = scorer({})
    return [
        disc_lesion(scorer, sheet, centre_mm, r, seed=seed + i, before=before)
        for i, r in enumerate(radii_mm)
    ]
