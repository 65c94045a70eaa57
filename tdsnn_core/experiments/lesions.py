"""Lesions: silence a layer's units inside a disc of the cortical sheet (or any unit set)
and measure per-category accuracy, in %, before and after, against random control lesions.

A *scorer* is a callable ``scorer(lesions) -> Score``, where ``lesions`` maps layer names
to flat unit indices (empty for the intact model) and the :class:`Score` holds whether each
test image was classified correctly: :class:`ClassifierScorer` uses the model's own output
on a labelled dataset, :class:`ReadoutScorer` a linear readout of one layer, cross-fitted on
the two halves of a probe set on the intact model (for categories the model was not trained
on): every probe is scored by the readout fitted on the other half.

Deficits are in percentage points, with 95 % percentile bootstrap intervals per category
(:mod:`tdsnn_core.analysis.intervals`; images that are variants of one source are
resampled together):

- targeted deficit: paired bootstrap over the category's images of (correct before) -
  (correct after), the same images for both in every draw, since a lesion changes the
  answer on given images;
- control: ``n_controls`` (>= 20) random lesions of as many units of the same layer. Its
  interval is that of the deficit of *one* random lesion: each bootstrap draw picks one of
  the control lesions and resamples the images (paired with the intact model). One lesion,
  not the mean of many, because "specific" asks whether this lesion costs more than a
  random lesion of its size would (an interval of the mean shrinks with the number of
  draws); the images are resampled because the targeted interval carries the test set's
  sampling error too, so both intervals describe the same population of images.

A lesion is *specific* to a category when its deficit interval lies entirely above the
control's, a conservative test (two 95 % intervals that do not overlap).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from tdsnn_core.analysis.intervals import (
    N_DRAWS,
    group_totals,
    paired_difference,
    percentile_interval,
    resample,
)
from tdsnn_core.analysis.probes import ProbeSet
from tdsnn_core.models import TopographicSNN
from tdsnn_core.recording import predict, record_rates
from tdsnn_core.sheets import CorticalSheet

Lesions = Mapping[str, np.ndarray]
N_CONTROLS = 20  # the fewest random control lesions an effect may rest on
LEVEL = 0.95


@dataclass(frozen=True)
class Score:
    """Whether each test image was answered correctly (``correct`` [n] bool), its category
    (``labels`` [n], indices into ``n_categories``) and its source image (``groups`` [n]:
    variants of one image share an id; default every image its own)."""

    correct: np.ndarray
    labels: np.ndarray
    n_categories: int
    groups: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.correct.shape != self.labels.shape or self.correct.ndim != 1:
            raise ValueError("a score needs one correctness and one label per image")
        if self.groups is None:
            object.__setattr__(self, "groups", np.arange(len(self.labels)))
        totals = np.bincount(self.labels, minlength=self.n_categories)
        if np.any(totals == 0):
            raise ValueError(
                f"categories {np.flatnonzero(totals == 0).tolist()} have no test image"
            )

    @property
    def accuracy(self) -> np.ndarray:
        """Accuracy per category in % [n_categories]."""
        hits = np.bincount(self.labels, weights=self.correct, minlength=self.n_categories)
        return 100.0 * hits / np.bincount(self.labels, minlength=self.n_categories)

    def points(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Category ``k``'s images: per-image score (0 or 100 points) and source ids."""
        members = self.labels == k
        return 100.0 * self.correct[members], self.groups[members]


Scorer = Callable[[Lesions], Score]


def disc_units(positions: np.ndarray, centre: Sequence[float], radius_mm: float) -> np.ndarray:
    """Flat indices (ascending) of the units within ``radius_mm`` of ``centre`` (x, y in mm)."""
    if radius_mm < 0:
        raise ValueError(f"lesion radius must be >= 0 mm, got {radius_mm}")
    distance = np.linalg.norm(np.asarray(positions) - np.asarray(centre, dtype=float), axis=1)
    return np.flatnonzero(distance <= radius_mm)


def random_units(n_units: int, count: int, seed: int | np.random.Generator = 0) -> np.ndarray:
    """``count`` distinct unit indices (ascending) drawn uniformly from ``n_units``."""
    if not 0 <= count <= n_units:
        raise ValueError(f"cannot draw {count} distinct units from a layer of {n_units}")
    return np.sort(np.random.default_rng(seed).choice(n_units, size=count, replace=False))


@dataclass
class ClassifierScorer:
    """Correctness of the model's own predictions on labelled images [N, C, H, W]."""

    model: TopographicSNN
    images: torch.Tensor
    labels: np.ndarray
    categories: tuple[str, ...]
    batch_size: int = 64
    timesteps: int | None = None
    sources: np.ndarray | None = None  # each image's source image (None: all independent)

    def __call__(self, lesions: Lesions | None = None) -> Score:
        predicted = predict(
            self.model, self.images, self.batch_size, timesteps=self.timesteps, lesions=lesions
        )
        labels = np.asarray(self.labels)
        return Score(predicted == labels, labels, len(self.categories), self.sources)


@dataclass
class ReadoutScorer:
    """Correctness of a logistic-regression readout of ``layer``'s firing rates, cross-fitted.

    Two readouts are fitted once on the intact model's responses, one to each half of
    :meth:`ProbeSet.halves` (a source image and its variants are always in the same half).
    Every probe (``images``, ``labels``, ``sources``) is scored, with or without a lesion, by
    the readout fitted on the other half (``scored_by``: 0 or 1 per probe), so no readout
    sees a variant of an image it scores, and all sources count, not half of them.
    """

    model: TopographicSNN
    layer: str
    images: torch.Tensor
    labels: np.ndarray
    categories: tuple[str, ...]
    readouts: tuple[LogisticRegression, LogisticRegression]
    scored_by: np.ndarray
    batch_size: int = 64
    sources: np.ndarray | None = None
    _intact: dict[str, np.ndarray] | None = field(default=None, init=False, repr=False)

    @classmethod
    def fit(
        cls,
        model: TopographicSNN,
        probes: ProbeSet,
        layer: str,
        batch_size: int = 64,
        intact_rates: np.ndarray | None = None,
    ) -> ReadoutScorer:
        """Fit a readout on each half of :meth:`ProbeSet.halves`; each scores the other.
        ``intact_rates`` [n_probes, N]: ``layer``'s rates to the probes, if already recorded."""
        if len(probes.categories) < 2:
            raise ValueError("a category readout needs probes of at least 2 categories")
        second = probes.halves()[1]
        if len(np.unique(probes.labels[second])) < len(probes.categories):
            raise ValueError("the readout needs at least 2 probe sources of every category")
        scorer = cls(
            model,
            layer,
            probes.images,
            probes.labels,
            probes.categories,
            readouts=(LogisticRegression(max_iter=2000), LogisticRegression(max_iter=2000)),
            scored_by=second.astype(int),  # readout k scores half k, fitted on the other
            batch_size=batch_size,
            sources=probes.sources,
        )
        if intact_rates is not None:
            if intact_rates.shape[0] != len(probes.labels):
                raise ValueError(
                    f"{len(intact_rates)} intact rates for {len(probes.labels)} probes"
                )
            scorer._intact = {layer: intact_rates}
        rates = scorer.rates({})
        for k, readout in enumerate(scorer.readouts):
            fitted_on = scorer.scored_by != k
            readout.fit(rates[fitted_on], probes.labels[fitted_on])
        return scorer

    def __call__(self, lesions: Lesions | None = None) -> Score:
        rates = self.rates(lesions or {})
        predicted = np.empty_like(self.labels)
        for k, readout in enumerate(self.readouts):
            scored = self.scored_by == k
            predicted[scored] = readout.predict(rates[scored])
        return Score(predicted == self.labels, self.labels, len(self.categories), self.sources)

    def rates(self, lesions: Lesions) -> np.ndarray:
        """The read-out layer's rates [n_scored, N] under ``lesions``.

        A lesion of the read-out layer alone, in a model whose layers do not feed themselves
        (``not model.self_recurrent``), only zeroes the silenced units' rates: nothing upstream
        changes and nothing downstream is read. That is computed from the intact rates
        (recorded once) without a forward pass; anything else runs the lesioned model.
        """
        if self._intact is None:
            self._intact = record_rates(self.model, self.images, [self.layer], self.batch_size)
        if not lesions:
            return self._intact[self.layer]
        if set(lesions) == {self.layer} and not self.model.self_recurrent:
            rates = self._intact[self.layer].copy()
            rates[:, np.asarray(lesions[self.layer], dtype=int)] = 0.0
            return rates
        return record_rates(
            self.model, self.images, [self.layer], self.batch_size, lesions=lesions
        )[self.layer]


@dataclass(frozen=True)
class LesionEffect:
    """Accuracy per category (%) before and after the lesion, and after each of the random
    control lesions of as many units of the same layer (``control_draws`` [n_draws, K],
    mean ``control_after``); 95 % intervals of the targeted and control deficits [K, 2]
    (low, high, in points; see the module docstring); ``centre_mm``/``radius_mm`` for disc
    lesions."""

    layer: str
    n_units: int
    before: np.ndarray
    after: np.ndarray
    control_after: np.ndarray
    control_draws: np.ndarray
    deficit_interval: np.ndarray
    control_interval: np.ndarray
    centre_mm: tuple[float, float] | None = None
    radius_mm: float | None = None

    @property
    def deficit(self) -> np.ndarray:
        """Accuracy lost per category (before - after), in percentage points."""
        return self.before - self.after

    @property
    def control_deficit(self) -> np.ndarray:
        """Accuracy lost per category by a random control lesion, mean over the draws."""
        return self.before - self.control_after

    @property
    def specific(self) -> np.ndarray:
        """Per category: the deficit's interval lies entirely above the control's."""
        return self.deficit_interval[:, 0] > self.control_interval[:, 1]

    @property
    def control_p(self) -> np.ndarray:
        """Per category: the deficit's rank among the random control lesions' (its null),
        (1 + controls losing at least as much) / (1 + controls); 1/21 at best with 20."""
        lost = self.before - self.control_draws
        return (1 + (lost >= self.deficit).sum(0)) / (1 + len(self.control_draws))


def _deficit_interval(before: Score, after: Score, k: int, seed: int) -> tuple[float, float]:
    (intact, groups), (lesioned, _) = before.points(k), after.points(k)
    interval = paired_difference(intact, lesioned, groups=groups, level=LEVEL, seed=seed)
    return interval.low, interval.high


def _control_interval(
    before: Score, controls: list[Score], k: int, seed: int
) -> tuple[float, float]:
    """Interval of one random lesion's deficit: a random draw and resampled sources per
    bootstrap replicate."""
    intact, groups = before.points(k)
    intact_sums, sizes = group_totals(intact, groups)
    control_sums, _ = group_totals(np.stack([c.points(k)[0] for c in controls]), groups)
    sources = resample(len(sizes), N_DRAWS, seed)
    draw = np.random.default_rng([seed, k]).integers(0, len(controls), N_DRAWS)
    lost = intact_sums[sources].sum(1) - control_sums[draw[:, None], sources].sum(1)
    replicates = lost / sizes[sources].sum(1)
    estimate = intact.mean() - np.mean([c.points(k)[0].mean() for c in controls])
    interval = percentile_interval(estimate, replicates, LEVEL)
    return interval.low, interval.high


def unit_lesion(
    scorer: Scorer,
    layer: str,
    units: np.ndarray,
    n_layer_units: int,
    *,
    seed: int = 0,
    before: Score | None = None,
    n_controls: int = N_CONTROLS,
) -> LesionEffect:
    """Silence ``units`` of ``layer``; compare with ``before`` (scored if not given) and with
    ``n_controls`` lesions of as many random units of the layer (drawn with ``seed``)."""
    if n_controls < N_CONTROLS:
        raise ValueError(f"a lesion needs >= {N_CONTROLS} random controls, got {n_controls}")
    units = np.asarray(units, dtype=int)
    before = scorer({}) if before is None else before
    after = scorer({layer: units})
    rng = np.random.default_rng(seed)
    controls = [
        scorer({layer: random_units(n_layer_units, len(units), rng)}) for _ in range(n_controls)
    ]
    if any(not np.array_equal(s.labels, before.labels) for s in (after, *controls)):
        raise ValueError("before, after and the controls must be scored on the same images")
    categories = range(before.n_categories)
    draws = np.stack([c.accuracy for c in controls])
    return LesionEffect(
        layer,
        len(units),
        before.accuracy,
        after.accuracy,
        draws.mean(0),
        draws,
        np.array([_deficit_interval(before, after, k, seed) for k in categories]),
        np.array([_control_interval(before, controls, k, seed) for k in categories]),
    )


def disc_lesion(
    scorer: Scorer,
    sheet: CorticalSheet,
    centre_mm: Sequence[float],
    radius_mm: float,
    *,
    seed: int = 0,
    before: Score | None = None,
    n_controls: int = N_CONTROLS,
) -> LesionEffect:
    """Silence every unit of ``sheet.layer`` within ``radius_mm`` of ``centre_mm``."""
    units = disc_units(sheet.positions, centre_mm, radius_mm)
    effect = unit_lesion(
        scorer,
        sheet.layer,
        units,
        sheet.num_units,
        seed=seed,
        before=before,
        n_controls=n_controls,
    )
    centre = (float(centre_mm[0]), float(centre_mm[1]))
    return replace(effect, centre_mm=centre, radius_mm=float(radius_mm))


def lesion_sweep(
    scorer: Scorer,
    sheet: CorticalSheet,
    centre_mm: Sequence[float],
    radii_mm: Sequence[float],
    *,
    seed: int = 0,
    n_controls: int = N_CONTROLS,
) -> list[LesionEffect]:
    """Disc lesions of growing radius around one centre (the intact model scored once)."""
    before = scorer({})
    return [
        disc_lesion(
            scorer, sheet, centre_mm, r, seed=seed + i, before=before, n_controls=n_controls
        )
        for i, r in enumerate(radii_mm)
    ]
