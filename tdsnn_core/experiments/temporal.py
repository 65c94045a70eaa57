"""Temporal dynamics: firing rate per timestep, spike-train entropy, accuracy as inference T
varies (with the per-image data for intervals over images), synchrony (r_CCG, raw and
shift-corrected) against cortical distance, and Fisher information per timestep."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy.spatial.distance import pdist, squareform

from tdsnn_core.analysis.intervals import (
    Interval,
    bootstrap_interval,
    draw_counts,
    percentile_interval,
    resample,
)
from tdsnn_core.losses.correlation import correlogram_correlations
from tdsnn_core.models import TopographicSNN
from tdsnn_core.recording import forward_batches, record_spikes
from tdsnn_core.sheets import CorticalSheet

ENTROPY_DRAWS = 200  # entropy is recomputed per draw: ~5 ms per layer and draw

MAX_WORD_BITS = 62  # spike words are packed into at most 64-bit integers


def spike_words(spikes: np.ndarray) -> np.ndarray:
    """Each unit's T-bit spike pattern per image, bit t = spike at step t: spikes [T, n_images,
    N] (0/1) -> [n_images, N], in the smallest unsigned type that holds T bits (uint8 to T = 8)."""
    steps = spikes.shape[0]
    if steps > MAX_WORD_BITS:
        raise ValueError(f"spike words of T={steps} > {MAX_WORD_BITS} steps cannot be packed")
    words = np.zeros(spikes.shape[1:], dtype=np.min_scalar_type(2**steps - 1))
    for step in range(steps):
        words |= (np.asarray(spikes[step]) != 0).astype(words.dtype) << step
    return words


def word_codes(words: np.ndarray) -> np.ndarray:
    """Each image's word renamed by its rank among its unit's distinct words: words
    [n_images, N] -> int codes [n_images, N] in 0..n_distinct - 1 (entropy is unchanged)."""
    order = np.argsort(words, axis=0, kind="stable")
    ranked = np.take_along_axis(words, order, axis=0)
    new_word = np.vstack([np.ones((1, words.shape[1]), bool), np.diff(ranked, axis=0) != 0])
    codes = np.empty(words.shape, dtype=np.int64)
    np.put_along_axis(codes, order, np.cumsum(new_word, axis=0) - 1, axis=0)
    return codes


def _mean_code_entropy(codes: np.ndarray, images: np.ndarray) -> float:
    """Mean over units of the plug-in entropy (bits) of the codes of ``images``."""
    n_images, n_units = codes.shape
    flat = codes[images] + n_images * np.arange(n_units)
    counts = np.bincount(flat.ravel())
    p = counts[counts > 0] / len(images)
    return float(-(p * np.log2(p)).sum() / n_units)


def words_entropy(words: np.ndarray) -> np.ndarray:
    """Plug-in entropy in bits of each unit's word distribution over images: words
    [n_images, N] -> [N]; at most log2(n_images), 0 for a unit that always sends one word."""
    n_images, n_units = words.shape
    flat = word_codes(words) + n_images * np.arange(n_units)
    p = np.bincount(flat.ravel(), minlength=words.size).reshape(n_units, n_images) / n_images
    return -(p * np.log2(p, out=np.zeros_like(p), where=p > 0)).sum(axis=1)


def word_entropy(spikes: np.ndarray) -> np.ndarray:
    """Entropy in bits of each unit's spike-train word over stimuli: spikes [T, n_images, N]
    (0/1) -> [N]. A word is the unit's T-bit spike pattern for one image; silent or
    stereotyped units score 0, at most log2(min(n_images, 2**T))."""
    return words_entropy(spike_words(spikes))


def mean_word_entropy(words: np.ndarray) -> float:
    """Mean over units of :func:`words_entropy` of words [n_images, N]."""
    return _mean_code_entropy(word_codes(words), np.arange(len(words)))


def resampled_word_entropy(words: np.ndarray, resamples: np.ndarray) -> np.ndarray:
    """:func:`mean_word_entropy` of each resample of the images: words [n_images, N],
    image indices [n_draws, m] (repeats allowed, e.g. a bootstrap) -> [n_draws]. Pass the
    same resamples for two models' words (same images) for a paired interval."""
    return weighted_word_entropy(words, draw_counts(resamples, len(words)))


def weighted_word_entropy(words: np.ndarray, drawn: np.ndarray) -> np.ndarray:
    """:func:`mean_word_entropy` of each draw of the images, given as how often it takes each
    image: words [n_images, N], drawn [n_draws, n_images] -> [n_draws].

    Every draw's word counts are one product: drawn @ (one-hot word code per image)
    [n_images, units * codes], in unit chunks.
    """
    codes = word_codes(words)
    (n_images, n_units), drawn = codes.shape, np.atleast_2d(drawn).astype(np.float32)
    n_codes = int(codes.max()) + 1
    chunk = max(1, 2**23 // (n_images * n_codes))
    total = np.zeros(len(drawn))
    for start in range(0, n_units, chunk):
        block = codes[:, start : start + chunk]
        onehot = (block[:, :, None] == np.arange(n_codes)).reshape(n_images, -1)
        p = (drawn @ onehot.astype(np.float32)) / drawn.sum(axis=1, keepdims=True)
        total -= (p * np.log2(p, out=np.zeros_like(p), where=p > 0)).sum(axis=1)
    return total / n_units


def bootstrap_weights(
    n_images: int, groups: np.ndarray | None, n_draws: int, seed: int
) -> np.ndarray:
    """How often each image is taken [n_draws, n_images] by bootstrap draws of whole groups
    (``groups``: one id per image; None: every image its own)."""
    _, index = np.unique(np.arange(n_images) if groups is None else groups, return_inverse=True)
    index = index.reshape(-1)
    n_groups = int(index.max()) + 1
    return draw_counts(resample(n_groups, n_draws, seed), n_groups)[:, index]


@dataclass(frozen=True)
class SpikingStatistics:
    """One run at ``timesteps`` steps: mean firing rate per layer per step [T], mean
    spike-word entropy per layer (bits, over a sample of units) and accuracy (%, if labelled).

    Per image, for intervals over images: ``correct`` (bool [n_images], None if unlabelled)
    and ``words`` (per layer, the sampled units' spike words [n_images, n_sampled], see
    :func:`spike_words`; :func:`resampled_word_entropy` gives the entropy of resamples of
    the images).
    """

    timesteps: int
    rate_per_step: dict[str, np.ndarray]
    entropy_bits: dict[str, float]
    accuracy: float | None
    correct: np.ndarray | None
    words: dict[str, np.ndarray]

    @property
    def n_images(self) -> int:
        if self.correct is not None:
            return len(self.correct)
        return len(next(iter(self.words.values()))) if self.words else 0

    def accuracy_interval(self, groups: np.ndarray | None = None, seed: int = 0) -> Interval | None:
        """Accuracy (%) with its 95 % bootstrap interval over images, or over whole
        ``groups`` (the source image of each image); None if unlabelled."""
        if self.correct is None:
            return None
        return bootstrap_interval(100.0 * self.correct, groups=groups, seed=seed)


def mean_entropy_interval(
    first: SpikingStatistics,
    second: SpikingStatistics | None = None,
    *,
    groups: np.ndarray | None = None,
    seed: int = 0,
) -> Interval | None:
    """Mean spike-word entropy over the layers (bits) of ``first``, or of ``first`` minus
    ``second`` (same images: every draw resamples them once for both), with a 95 % bootstrap
    interval over images, or over whole ``groups`` (the source image of each image); None
    when the two share no layer.

    A resample repeats images, which lowers a plug-in entropy: the replicates are centred
    on the estimate (bias-corrected percentile interval).
    """
    others = [] if second is None else [second]
    layers = [n for n in first.words if all(n in o.words for o in others)]
    if not layers:
        return None
    drawn = bootstrap_weights(first.words[layers[0]].shape[0], groups, ENTROPY_DRAWS, seed)

    def replicates(stats: SpikingStatistics) -> np.ndarray:
        return np.mean([weighted_word_entropy(stats.words[n], drawn) for n in layers], axis=0)

    def estimate(stats: SpikingStatistics) -> float:
        return float(np.mean([stats.entropy_bits[n] for n in layers]))

    value = estimate(first) - sum(estimate(o) for o in others)
    draws_of = replicates(first) - sum(replicates(o) for o in others)
    return percentile_interval(value, draws_of + value - draws_of.mean(), 0.95)


def spiking_statistics(
    model: TopographicSNN,
    images: torch.Tensor,
    labels: np.ndarray | None = None,
    *,
    timesteps: int | None = None,
    batch_size: int = 64,
    max_units: int = 4096,
    seed: int = 0,
) -> SpikingStatistics:
    """Rates per timestep, spike-train entropy and accuracy of ``model`` on ``images``.

    Entropy is averaged over up to ``max_units`` units per layer (a fixed random sample).
    """
    steps = timesteps or model.timesteps
    rng = np.random.default_rng(seed)
    sampled = {
        t.name: torch.as_tensor(np.sort(rng.permutation(int(np.prod(t.dims)))[:max_units]))
        for t in model.topographic_layers()
    }
    rate_sums = {name: torch.zeros(steps, dtype=torch.float64) for name in sampled}
    kept: dict[str, list[np.ndarray]] = {name: [] for name in sampled}
    predicted = []
    for _, out in forward_batches(model, images, batch_size=batch_size, timesteps=steps):
        predicted.append(out.logits.argmax(1).cpu().numpy())
        for name, units in sampled.items():
            flat = out.spikes[name].flatten(2).cpu()
            rate_sums[name] += flat.double().mean(2).sum(1)
            kept[name].append(spike_words(flat[:, :, units].to(torch.uint8).numpy()))
    words = {name: np.concatenate(parts) for name, parts in kept.items()}
    correct = None if labels is None else np.concatenate(predicted) == np.asarray(labels)
    return SpikingStatistics(
        timesteps=steps,
        rate_per_step={name: (s / len(images)).numpy() for name, s in rate_sums.items()},
        entropy_bits={name: mean_word_entropy(w) for name, w in words.items()},
        accuracy=None if correct is None else 100.0 * float(correct.mean()),
        correct=correct,
        words=words,
    )


def timestep_sweep(
    model: TopographicSNN,
    images: torch.Tensor,
    labels: np.ndarray | None,
    timesteps: Sequence[int],
    **kwargs,
) -> list[SpikingStatistics]:
    """:func:`spiking_statistics` at every inference T in ``timesteps``."""
    return [spiking_statistics(model, images, labels, timesteps=t, **kwargs) for t in timesteps]


SYNCHRONY_DRAWS = 200  # image resamplings behind each distance bin's excess-r_CCG interval


@dataclass(frozen=True)
class SynchronyCurve:
    """Mean r_CCG of unit pairs per cortical-distance bin (NaN where a bin has no pair).

    ``mean_r`` is the raw r_CCG; ``shift_r`` its shift predictor (the partner's spikes taken
    from the next image, symmetrised), what rates locked to the stimulus onset and the
    units' mean rates give without any spike timing; ``excess_r`` = ``mean_r`` - ``shift_r``.
    Rate covariation across images (both units driven by the same images) is not removed
    by this predictor and stays in ``excess_r``. ``excess_low``/``excess_high`` bound its
    95 % percentile bootstrap interval over images (NaN when no resampling was asked for).
    """

    layer: str
    bin_edges: np.ndarray
    mean_r: np.ndarray
    shift_r: np.ndarray
    excess_r: np.ndarray
    pair_counts: np.ndarray
    excess_low: np.ndarray
    excess_high: np.ndarray

    @property
    def bin_centres(self) -> np.ndarray:
        return (self.bin_edges[:-1] + self.bin_edges[1:]) / 2


def raw_and_shifted_r_ccg(
    spikes: np.ndarray, window: int, partners: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """r_CCG [N, N] of spikes [T, n_images, N] and its shift predictor: the r_CCG of unit i's
    spikes on image b with unit j's on image b's partner (``partners``, the same shape; by
    default image b + 1 mod n_images), normalised by the same auto-correlograms and
    symmetrised over (i, j). Diagonals are set to 0."""
    if spikes.shape[1] < 2:
        raise ValueError("the shift predictor needs at least 2 images")
    unshifted = torch.as_tensor(np.asarray(spikes), dtype=torch.float64)
    shifted = (
        unshifted.roll(-1, dims=1)
        if partners is None
        else torch.as_tensor(np.asarray(partners), dtype=torch.float64)
    )
    both = torch.cat([unshifted, shifted], dim=2)[None]
    # the cross block is normalised by the partners' own auto-correlograms: for the roll the
    # unshifted ones exactly, over a resampling nearly them; a tiny eps measures r_CCG itself
    r = correlogram_correlations(both, window, eps=1e-12)[0].numpy()
    n = spikes.shape[2]
    raw, cross = r[:n, :n].copy(), r[:n, n:]
    shift = (cross + cross.T) / 2
    np.fill_diagonal(raw, 0.0)
    np.fill_diagonal(shift, 0.0)
    return raw, shift


def synchrony_curve(
    spikes: np.ndarray,
    positions: np.ndarray,
    bin_edges: np.ndarray,
    *,
    window: int = 1,
    layer: str = "",
    draws: int = 0,
    seed: int = 0,
    groups: np.ndarray | None = None,
) -> SynchronyCurve:
    """Raw, shift-predictor and excess r_CCG (lags -W..W) of every unit pair of spikes
    [T, n_images, N] at ``positions`` [N, 2] (mm), averaged per distance bin; with ``draws``
    resamplings of the images, or of whole ``groups`` (the source image of each image), a 95 %
    interval of each bin's excess (each image's shift partner stays its own next image)."""
    distances = pdist(np.asarray(positions, dtype=float))
    counts = np.histogram(distances, bin_edges)[0]

    def per_bin(r: np.ndarray) -> np.ndarray:
        sums = np.histogram(distances, bin_edges, weights=squareform(r, checks=False))[0]
        return np.divide(sums, counts, out=np.full(len(counts), np.nan), where=counts > 0)

    def binned(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw and shift-predictor r_CCG per bin over ``images``, each paired with its next."""
        partners = (images + 1) % spikes.shape[1]
        raw, shift = raw_and_shifted_r_ccg(spikes[:, images], window, spikes[:, partners])
        return per_bin(raw), per_bin(shift)

    mean_r, shift_r = binned(np.arange(spikes.shape[1]))
    low = high = np.full(len(counts), np.nan)
    if draws:
        replicates = np.stack(
            [
                np.subtract(*binned(np.repeat(np.arange(spikes.shape[1]), taken)))
                for taken in bootstrap_weights(spikes.shape[1], groups, draws, seed)
            ]
        )
        with np.errstate(invalid="ignore"):  # bins without pairs stay NaN
            low, high = np.percentile(replicates, [2.5, 97.5], axis=0)
    return SynchronyCurve(
        layer,
        np.asarray(bin_edges, dtype=float),
        mean_r,
        shift_r,
        mean_r - shift_r,
        counts,
        low,
        high,
    )


def synchrony_vs_distance(
    model: TopographicSNN,
    images: torch.Tensor,
    sheet: CorticalSheet,
    *,
    window: int = 1,
    n_bins: int = 10,
    max_distance_mm: float | None = None,
    max_units: int = 500,
    batch_size: int = 64,
    draws: int = SYNCHRONY_DRAWS,
    seed: int = 0,
    groups: np.ndarray | None = None,
) -> SynchronyCurve:
    """:func:`synchrony_curve` of up to ``max_units`` active units of ``sheet.layer`` on
    ``images`` (the STC timing term's statistic), binned by distance (default bins up to
    half the sheet), with ``draws`` resamplings of the images (or of their source ``groups``)
    for the intervals. Raises ValueError if fewer than 2 units spike or 2 images are given."""
    spikes = record_spikes(model, images, [sheet.layer], batch_size)[sheet.layer]
    active = np.flatnonzero(spikes.sum((0, 1)) > 0)
    if len(active) < 2:
        raise ValueError(f"{sheet.layer}: {len(active)} units spike; synchrony needs at least 2")
    units = np.sort(np.random.default_rng(seed).permutation(active)[:max_units])
    edges = np.linspace(0.0, max_distance_mm or sheet.size_mm / 2, n_bins + 1)
    return synchrony_curve(
        spikes[:, :, units],
        sheet.positions[units],
        edges,
        window=window,
        layer=sheet.layer,
        draws=draws,
        seed=seed,
        groups=groups,
    )


def fisher_information(
    model: TopographicSNN,
    images: torch.Tensor,
    labels: np.ndarray,
    *,
    timesteps: int | None = None,
) -> np.ndarray:
    """Each image's ||grad_theta log f(y_n | x_n, steps <= t)||^2 for t = 1..T, [N, T]: their
    mean over the N images is the Fisher information I_t, which an interval over the images
    (or their sources) resamples.

    f(. | x, steps <= t) is the softmax of the logits averaged over the first t steps;
    gradients flow through the surrogate spike function, one image at a time.
    """
    model.eval()
    device = next(model.parameters()).device
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters: Fisher information is undefined")
    steps = timesteps or model.timesteps
    information = np.zeros((len(images), steps))
    with torch.enable_grad():
        for n, (image, label) in enumerate(zip(images, np.asarray(labels), strict=True)):
            per_step = model(image[None].to(device), timesteps=steps, return_spikes=True)
            running_mean = per_step.logits_per_step[:, 0].cumsum(0) / torch.arange(
                1, steps + 1, device=device
            ).unsqueeze(1)
            log_likelihood = F.log_softmax(running_mean, dim=1)[:, int(label)]
            for t in range(steps):
                grads = torch.autograd.grad(
                    log_likelihood[t], params, retain_graph=t < steps - 1, allow_unused=True
                )
                information[n, t] = sum(float(g.square().sum()) for g in grads if g is not None)
    return information


def fisher_intervals(per_image: np.ndarray, groups: np.ndarray | None = None) -> list[Interval]:
    """Per timestep, the Fisher information (the mean of :func:`fisher_information`'s
    ``per_image`` [N, T]) with its 95 % bootstrap interval over the images, or over whole
    ``groups`` (the source image of each image)."""
    return [bootstrap_interval(values, groups=groups) for values in np.asarray(per_image).T]
