"""Position pre-optimisation: swap unit positions within random neighbourhoods while that
lowers the spatial loss (1 - Pearson(response correlation, 1 / (d + 1))) / 2 (method.md)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from tdsnn_core.losses.clusters import sample_clusters


@dataclass(frozen=True)
class SwapSettings:
    """How hard to search: neighbourhoods per layer, their size, swap rounds and candidates.

    The defaults (2,000 neighbourhoods x 25 rounds of 20 scored candidate pairs, 50,000 pair
    scorings per layer) are sized for a CPU; TDANN's pre-optimisation is 20,000 neighbourhoods
    of up to 500 units with about 500 swap attempts each (10 million). Each round here scores
    its candidates in closed form and applies the best, so one round does more than one of
    TDANN's attempts, but a model meant to be compared with TDANN should raise
    ``neighborhoods`` and ``rounds`` (``tdsnn positions optimize --neighborhoods 20000
    --rounds 500``) and report the spatial loss before and after, which the command prints.

    ``tether_mm`` keeps every unit within that distance of where it started (its place on the
    retinotopic sheet): swaps that would carry either unit further are not made. Repeated
    swaps otherwise let units drift across the sheet, and on a coarse retinotopic grid the
    units of one channel (alike at every location in a convolution or patch embedding) can
    gather into a map that any model of that architecture shows, with the loss or without.
    """

    neighborhoods: int = 2000
    max_units: int = 500
    rounds: int = 25
    candidates: int = 20
    width_scale: float = 1.0
    eval_neighborhoods: int = 200
    tether_mm: float | None = None


def correlation_matrix(responses: np.ndarray) -> np.ndarray:
    """Pearson correlation between units over stimuli ([S, n] -> [n, n]); silent units give 0."""
    centred = responses - responses.mean(axis=0)
    norm = np.sqrt((centred**2).sum(axis=0))
    z = centred / np.where(norm > 0, norm, 1.0)
    return z.T @ z


def inverse_distance(positions: np.ndarray) -> np.ndarray:
    diff = positions[:, None, :] - positions[None, :, :]
    return 1.0 / (np.sqrt((diff**2).sum(-1)) + 1.0)


def spatial_loss(responses: np.ndarray, positions: np.ndarray) -> float:
    """(1 - Pearson over pairs i < j of response correlation and inverse distance) / 2."""
    n = positions.shape[0]
    upper = np.triu_indices(n, 1)
    r = correlation_matrix(responses)[upper]
    d = inverse_distance(positions)[upper]
    if r.std() == 0 or d.std() == 0:
        return 0.5
    return float((1.0 - np.corrcoef(r, d)[0, 1]) / 2.0)


def swap_neighbourhood(
    corr: np.ndarray,
    positions: np.ndarray,
    rounds: int,
    candidates: int,
    rng: np.random.Generator,
    tether: tuple[np.ndarray, float] | None = None,
) -> tuple[np.ndarray, int]:
    """Greedy swaps in one neighbourhood; returns the new positions and the number of swaps.

    Swapping the positions of units a and b permutes the distance matrix, so the distances'
    mean and variance, and the correlations, are unchanged: only Pearson's numerator
    sum_{i != j} r_ij d_ij moves, by 2 sum_{k != a, b} (r_ak - r_bk)(d_bk - d_ak). Each round
    scores ``candidates`` random pairs at once and applies the best one if it helps.
    ``tether`` (the units' starting positions [n, 2] and a distance in mm): a pair is only
    swapped if each unit lands within that distance of its start.
    """
    n = positions.shape[0]
    r = corr.copy()
    np.fill_diagonal(r, 0.0)
    d = inverse_distance(positions)
    np.fill_diagonal(d, 0.0)
    positions = positions.copy()
    swaps = 0
    for _ in range(rounds):
        a = rng.integers(n, size=candidates)
        b = (a + rng.integers(1, n, size=candidates)) % n
        full = ((r[a] - r[b]) * (d[b] - d[a])).sum(axis=1)
        gain = full + 2.0 * r[a, b] * d[a, b]
        if tether is not None:
            start, reach = tether
            lands = np.linalg.norm(positions[b] - start[a], axis=1) <= reach
            lands &= np.linalg.norm(positions[a] - start[b], axis=1) <= reach
            gain = np.where(lands, gain, -np.inf)
        best = int(np.argmax(gain))
        if gain[best] <= 1e-12:
            continue
        i, j = a[best], b[best]
        d[[i, j]] = d[[j, i]]
        d[:, [i, j]] = d[:, [j, i]]
        positions[[i, j]] = positions[[j, i]]
        swaps += 1
    return positions, swaps


@dataclass(frozen=True)
class SwapResult:
    positions: np.ndarray
    loss_before: float
    loss_after: float
    swaps: int


def optimize_positions(
    responses: np.ndarray,
    positions: np.ndarray,
    width_mm: float,
    settings: SwapSettings = SwapSettings(),
    seed: int = 0,
    progress: bool = True,
    label: str = "",
) -> SwapResult:
    """Swap-optimise one layer's positions [N, 2] for its responses [S, N]."""
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    width = width_mm * settings.width_scale
    size = min(settings.max_units, positions.shape[0])
    eval_clusters = sample_clusters(
        torch.from_numpy(positions), width, size, settings.eval_neighborhoods, gen
    )
    eval_sets = [eval_clusters.members(m).numpy() for m in np.flatnonzero(eval_clusters.valid)]
    if not eval_sets:
        raise ValueError(
            f"{label or 'layer'}: no {width:.4g} mm neighbourhood holds 3 units; raise the "
            "width scale"
        )

    def mean_loss(pos: np.ndarray) -> float:
        return float(np.mean([spatial_loss(responses[:, idx], pos[idx]) for idx in eval_sets]))

    before = mean_loss(positions)
    positions = positions.astype(np.float64).copy()
    start = positions.copy()
    swaps = 0
    for _ in tqdm(range(settings.neighborhoods), desc=f"swapping {label}", disable=not progress):
        clusters = sample_clusters(torch.from_numpy(positions), width, size, 1, gen)
        idx = clusters.members(0).numpy()
        if len(idx) < 3:
            continue
        new, count = swap_neighbourhood(
            correlation_matrix(responses[:, idx]),
            positions[idx],
            settings.rounds,
            settings.candidates,
            rng,
            None if settings.tether_mm is None else (start[idx], settings.tether_mm),
        )
        positions[idx] = new
        swaps += count
    return SwapResult(positions.astype(np.float32), before, mean_loss(positions), swaps)
