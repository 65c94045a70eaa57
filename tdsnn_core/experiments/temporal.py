"""Temporal dynamics: firing rate per timestep, spike-train entropy, accuracy as inference T
varies, synchrony (r_CCG) against cortical distance, and Fisher information per timestep."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy.spatial.distance import squareform

from tdsnn_core.losses.correlation import correlogram_correlations
from tdsnn_core.models import TopographicSNN
from tdsnn_core.sheets import CorticalSheet

MAX_WORD_BITS = 62  # spike words are packed into int64


def word_entropy(spikes: np.ndarray) -> np.ndarray:
    """Entropy in bits of each unit's spike-train word over stimuli: spikes [T, n_images, N]
    (0/1) -> [N]. A word is the unit's T-bit spike pattern for one image; silent or
    stereotyped units score 0, at most log2(min(n_images, 2**T))."""
    steps, n_images, _ = spikes.shape
    if steps > MAX_WORD_BITS:
        raise ValueError(f"spike words of T={steps} > {MAX_WORD_BITS} steps cannot be packed")
    weights = (1 << np.arange(steps, dtype=np.int64))[:, None, None]
    words = np.sort((np.asarray(spikes, dtype=np.int64) * weights).sum(0), axis=0)
    new_word = np.vstack([np.ones((1, words.shape[1]), bool), np.diff(words, axis=0) != 0])
    run = np.cumsum(new_word, axis=0) - 1  # index of each image's word within its unit
    unit = np.broadcast_to(np.arange(words.shape[1]), words.shape)
    counts = np.bincount((unit * n_images + run).ravel(), minlength=words.size)
    p = counts.reshape(words.shape[1], n_images) / n_images
    return -(p * np.log2(p, out=np.zeros_like(p), where=p > 0)).sum(axis=1)


@dataclass(frozen=True)
class SpikingStatistics:
    """One run at ``timesteps`` steps: mean firing rate per layer per step [T], mean
    spike-word entropy per layer (bits, over a sample of units) and accuracy (%, if labelled)."""

    timesteps: int
    rate_per_step: dict[str, np.ndarray]
    entropy_bits: dict[str, float]
    accuracy: float | None


@torch.no_grad()
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
    model.eval()
    device = next(model.parameters()).device
    steps = timesteps or model.timesteps
    rng = np.random.default_rng(seed)
    sampled = {
        t.name: torch.as_tensor(np.sort(rng.permutation(int(np.prod(t.dims)))[:max_units]))
        for t in model.topographic_layers()
    }
    rate_sums = {name: torch.zeros(steps, dtype=torch.float64) for name in sampled}
    kept: dict[str, list[np.ndarray]] = {name: [] for name in sampled}
    hits = 0
    for start in range(0, len(images), batch_size):
        out = model(
            images[start : start + batch_size].to(device), timesteps=steps, return_spikes=True
        )
        if labels is not None:
            batch_labels = torch.as_tensor(labels[start : start + batch_size], device=device)
            hits += int((out.logits.argmax(1) == batch_labels).sum())
        for name, units in sampled.items():
            flat = out.spikes[name].flatten(2).cpu()
            rate_sums[name] += flat.double().mean(2).sum(1)
            kept[name].append(flat[:, :, units].to(torch.uint8).numpy())
    return SpikingStatistics(
        timesteps=steps,
        rate_per_step={name: (s / len(images)).numpy() for name, s in rate_sums.items()},
        entropy_bits={
            name: float(word_entropy(np.concatenate(parts, axis=1)).mean())
            for name, parts in kept.items()
        },
        accuracy=None if labels is None else 100.0 * hits / len(images),
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


@dataclass(frozen=True)
class SynchronyCurve:
    """Mean r_CCG of unit pairs per cortical-distance bin (NaN where a bin has no pair)."""

    layer: str
    bin_edges: np.ndarray
    mean_r: np.ndarray
    pair_counts: np.ndarray

    @property
    def bin_centres(self) -> np.ndarray:
        return (self.bin_edges[:-1] + self.bin_edges[1:]) / 2


@torch.no_grad()
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
    seed: int = 0,
) -> SynchronyCurve:
    """Normalised cross-correlogram r_CCG (the STC timing term's statistic, lags -W..W)
    between up to ``max_units`` active units of ``sheet.layer``, binned by distance
    (default bins up to half the sheet). Raises ValueError if fewer than 2 units spike."""
    model.eval()
    device = next(model.parameters()).device
    spikes = torch.cat(
        [
            model(images[s : s + batch_size].to(device), return_spikes=True)
            .spikes[sheet.layer]
            .flatten(2)
            .cpu()
            for s in range(0, len(images), batch_size)
        ],
        dim=1,
    )  # [T, n_images, N]
    active = np.flatnonzero(spikes.sum((0, 1)).numpy() > 0)
    if len(active) < 2:
        raise ValueError(f"{sheet.layer}: {len(active)} units spike; synchrony needs at least 2")
    units = np.sort(np.random.default_rng(seed).permutation(active)[:max_units])
    # only spiking units are kept, so a tiny eps measures r_CCG itself (the loss's 1e-3 would not)
    clustered = spikes[:, :, units].double()[None]
    r_ccg = correlogram_correlations(clustered, window, eps=1e-12)[0].numpy()
    np.fill_diagonal(r_ccg, 0.0)
    r_pairs = squareform(r_ccg, checks=False)
    distances = squareform(
        np.linalg.norm(sheet.positions[units, None] - sheet.positions[None, units], axis=-1),
        checks=False,
    )
    edges = np.linspace(0.0, max_distance_mm or sheet.size_mm / 2, n_bins + 1)
    counts = np.histogram(distances, edges)[0]
    sums = np.histogram(distances, edges, weights=r_pairs)[0]
    mean_r = np.divide(sums, counts, out=np.full(n_bins, np.nan), where=counts > 0)
    return SynchronyCurve(sheet.layer, edges, mean_r, counts)


def fisher_information(
    model: TopographicSNN,
    images: torch.Tensor,
    labels: np.ndarray,
    *,
    timesteps: int | None = None,
) -> np.ndarray:
    """I_t = (1/N) sum_n ||grad_theta log f(y_n | x_n, steps <= t)||^2 for t = 1..T, [T].

    f(. | x, steps <= t) is the softmax of the logits averaged over the first t steps;
    gradients flow through the surrogate spike function, one image at a time.
    """
    model.eval()
    device = next(model.parameters()).device
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters: Fisher information is undefined")
    steps = timesteps or model.timesteps
    information = np.zeros(steps)
    with torch.enable_grad():
        for image, label in zip(images, np.asarray(labels), strict=True):
            per_step = model(image[None].to(device), timesteps=steps, return_spikes=True)
            running_mean = per_step.logits_per_step[:, 0].cumsum(0) / torch.arange(
                1, steps + 1, device=device
            ).unsqueeze(1)
            log_likelihood = F.log_softmax(running_mean, dim=1)[:, int(label)]
            for t in range(steps):
                grads = torch.autograd.grad(
                    log_likelihood[t], params, retain_graph=t < steps - 1, allow_unused=True
                )
                information[t] += sum(float(g.square().sum()) for g in grads if g is not None)
    return information / len(images)
