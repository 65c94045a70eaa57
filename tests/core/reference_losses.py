"""Slow, plainly written reference implementations of the topographic losses (float64 numpy).

They loop over pairs, lags and timesteps exactly as method.md writes the formulas, sharing no
code with tdsnn_core, so the vectorised versions can be checked against them.
"""

from __future__ import annotations

import math

import numpy as np


def pearson(x: list[float], y: list[float], eps: float = 1e-12) -> float:
    mx, my = sum(x) / len(x), sum(y) / len(y)
    cov = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    vx = sum((a - mx) ** 2 for a in x)
    vy = sum((b - my) ** 2 for b in y)
    return cov / math.sqrt(vx * vy + eps * vy)


def inverse_distances(positions: np.ndarray) -> list[float]:
    n = len(positions)
    return [
        1.0 / (math.dist(positions[i], positions[j]) + 1.0)
        for i in range(n)
        for j in range(i + 1, n)
    ]


def rate_correlation(rates: np.ndarray, i: int, j: int, eps: float) -> float:
    """Pearson over the batch of unit i's and unit j's rates (0 for a constant unit)."""
    a, b = rates[:, i], rates[:, j]
    ca, cb = a - a.mean(), b - b.mean()
    return float((ca * cb).sum() / math.sqrt(((ca**2).sum() + eps) * ((cb**2).sum() + eps)))


def ccg(spikes: np.ndarray, i: int, j: int, window: int) -> float:
    """sum_tau 1/(B (T-|tau|)) sum_b sum_t S_i(t) S_j(t+tau), spikes [T, B, n]."""
    steps, batch = spikes.shape[:2]
    total = 0.0
    for tau in range(-window, window + 1):
        acc = 0.0
        for b in range(batch):
            for t in range(steps):
                if 0 <= t + tau < steps:
                    acc += spikes[t, b, i] * spikes[t + tau, b, j]
        total += acc / (batch * (steps - abs(tau)))
    return total


def rate_loss(spikes: np.ndarray, positions: np.ndarray, eps: float = 1e-3) -> float:
    """L_L for one cluster: spikes [T, B, n], positions [n, 2]."""
    rates = spikes.mean(axis=0)
    n = rates.shape[1]
    r = [rate_correlation(rates, i, j, eps) for i in range(n) for j in range(i + 1, n)]
    return (1.0 - pearson(r, inverse_distances(positions))) / 2.0


def timing_loss(spikes: np.ndarray, positions: np.ndarray, window: int, eps: float = 1e-3) -> float:
    """L_S for one cluster: normalised CCG r_ij = CCG_ij / sqrt(ACG_i ACG_j)."""
    n = spikes.shape[2]
    acg = [ccg(spikes, i, i, window) for i in range(n)]
    r = [
        ccg(spikes, i, j, window) / math.sqrt((acg[i] + eps) * (acg[j] + eps))
        for i in range(n)
        for j in range(i + 1, n)
    ]
    return (1.0 - pearson(r, inverse_distances(positions))) / 2.0


def bilinear_resize(grid: np.ndarray, out_h: int, out_w: int, scale_h: float, scale_w: float):
    """Bilinear resampling of [E, h, w] (half-pixel centres, edge clamping), where the source
    coordinate of output pixel o is (o + 0.5) * scale - 0.5."""
    e, h, w = grid.shape
    out = np.zeros((e, out_h, out_w))
    for oy in range(out_h):
        sy = max((oy + 0.5) * scale_h - 0.5, 0.0)
        y0 = min(int(math.floor(sy)), h - 1)
        y1, fy = min(y0 + 1, h - 1), sy - y0
        for ox in range(out_w):
            sx = max((ox + 0.5) * scale_w - 0.5, 0.0)
            x0 = min(int(math.floor(sx)), w - 1)
            x1, fx = min(x0 + 1, w - 1), sx - x0
            out[:, oy, ox] = (
                (1 - fy) * (1 - fx) * grid[:, y0, x0]
                + (1 - fy) * fx * grid[:, y0, x1]
                + fy * (1 - fx) * grid[:, y1, x0]
                + fy * fx * grid[:, y1, x1]
            )
    return out


def topoloss(weight: np.ndarray, factor: float) -> float:
    """TopoLoss: 1 - mean over units of cosine(weights, blurred weights) on the h x w grid."""
    c = weight.shape[0]
    h = max(d for d in range(1, math.isqrt(c) + 1) if c % d == 0)
    w = c // h
    flat = weight.reshape(c, -1)
    grid = np.stack([flat[row * w + col] for row in range(h) for col in range(w)])
    grid = grid.reshape(h, w, -1).transpose(2, 0, 1)
    sh, sw = int(math.floor(h / factor)), int(math.floor(w / factor))
    small = bilinear_resize(grid, sh, sw, factor, factor)
    blurred = bilinear_resize(small, h, w, sh / h, sw / w)
    cosines = []
    for row in range(h):
        for col in range(w):
            a, b = grid[:, row, col], blurred[:, row, col]
            cosines.append(float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-8)))
    return 1.0 - sum(cosines) / len(cosines)
