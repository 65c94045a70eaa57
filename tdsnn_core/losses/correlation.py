"""Pair-correlation matrices of spiking responses and their Pearson correlation with distance.

Both pair matrices of the STC loss are quadratic forms of a small factor: with ``x`` [M, T, B, n]
and a lag kernel ``k`` [T, T], ``pairs = sum_{t,s} k[t, s] x[:, t]^T x[:, s]`` ([M, n, n]).
The rate correlations are the case T = 1, k = 1 (x: centred, unit-norm rates); the normalised
correlograms have k[t, s] = 1 / (B (T - |t - s|)) for |t - s| <= W (x: spikes over
sqrt(ACG)). :func:`pearson_with_pairs` takes the Pearson of such pairs with a distance target
in one of two forms, whichever costs fewer operations (:func:`pearson_cost`):

* ``pairs``: build the [M, n, n] matrix already centred and take the Pearson over it;
* ``gram``: never build it. With D the (centred, unit-norm) target, G = x x^T the
  (TB x TB) Gram and r_ii the diagonal, over the pairs i != j of real units:
  sum r D = <k x, x D>, sum r = u^T k u - sum_i r_ii (u = x summed over units),
  sum r^2 = tr(k G k G) - sum_i r_ii^2 (k G = (k x) x^T, one TB x TB product), and the
  variance sum r^2 - (sum r)^2 / pairs.

Precision: every statistic is computed in float32 or wider. The ``pairs`` form centres its
variance (a one-pass variance cancels catastrophically in bfloat16, method.md): the pairs are
built minus their mean, which the factor gives exactly; an error in that mean changes the
variance only to second order. The ``gram`` form's variance is one-pass by nature, so its Gram
sums run in float64: cancellation then costs 1e-16 (1 + mean^2 / variance) relative, below
the 1e-7 to which the float32 factor fixes r in the first place. Padded cluster members (see
:mod:`tdsnn_core.losses.clusters`) are zeroed by the caller, so they add zero rows and
columns and only real pairs count.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import torch

from tdsnn_core.losses.clusters import centre_real_pairs, real_pair_count

Form = Literal["auto", "pairs", "gram"]
ELEMENTWISE_COST = 16  # multiply-adds one n x n elementwise pass costs (memory bound), forward
GRAM_DTYPE = torch.float64


class PairFactor(NamedTuple):
    """pairs = sum_{t,s} kernel[t, s] x[:, t]^T x[:, s]: ``x`` [M, T, B, n], ``kernel`` [T, T]."""

    x: torch.Tensor
    kernel: torch.Tensor

    def mixed(self) -> torch.Tensor:
        """(k x) [M, T, B, n]: every step's rows mixed over the lags of the kernel."""
        if self.kernel.shape == (1, 1):
            return self.x * self.kernel[0, 0]
        m, steps = self.x.shape[:2]
        return (self.kernel @ self.x.reshape(m, steps, -1)).view_as(self.x)

    def dense(self) -> torch.Tensor:
        """The pair matrix [M, n, n]."""
        m, steps, batch, n = self.x.shape
        rows = self.x.reshape(m, steps * batch, n)
        return rows.transpose(1, 2) @ self.mixed().reshape(m, steps * batch, n)


def lag_kernel(
    steps: int, batch: int, window: int, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    """k[t, s] = 1 / (B (T - |t - s|)) for |t - s| <= W, else 0: [T, T]."""
    if not 0 <= window < steps:
        raise ValueError(f"correlogram window W={window} must be in [0, T-1] for T={steps}")
    t = torch.arange(steps, device=device)
    lag = (t.unsqueeze(0) - t.unsqueeze(1)).abs()
    k = 1.0 / (batch * (steps - lag).to(dtype))
    return torch.where(lag <= window, k, torch.zeros_like(k))


def response_factor(responses: torch.Tensor, eps: float = 1e-3) -> PairFactor:
    """The factor of the rate correlations over the batch: [M, B, n] -> T = 1, k = 1.

    Units with zero variance (e.g. silent, or zeroed padding) correlate 0 with everything,
    themselves included (finite, no NaN, for eps > 0).
    """
    centred = responses - responses.mean(dim=1, keepdim=True)
    z = centred / (centred.square().sum(dim=1, keepdim=True) + eps).sqrt()
    return PairFactor(z.unsqueeze(1), torch.ones(1, 1, dtype=z.dtype, device=z.device))


def correlogram_factor(spikes: torch.Tensor, window: int, eps: float = 1e-3) -> PairFactor:
    """The factor of r_CCG = CCG_ij / sqrt(ACG_i ACG_j): spikes [M, T, B, n], lags -W..W.

    CCG_ij = sum_{tau=-W..W} 1 / (B (T - |tau|)) sum_b sum_t S_i(t) S_j(t + tau).
    """
    _, steps, batch, _ = spikes.shape
    kernel = lag_kernel(steps, batch, window, spikes.dtype, spikes.device)
    acg = autocorrelogram(PairFactor(spikes, kernel))
    return PairFactor(spikes / (acg + eps).sqrt().unsqueeze(1).unsqueeze(1), kernel)


def autocorrelogram(factor: PairFactor) -> torch.Tensor:
    """The diagonal of the pair matrix, e.g. ACG_i = CCG_ii for spikes: [M, n]."""
    return (factor.mixed() * factor.x).sum(dim=(1, 2))


def response_correlations(responses: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """Pearson correlation over the batch between units: [M, B, n] -> [M, n, n]."""
    return response_factor(responses, eps).dense()


def correlogram_correlations(spikes: torch.Tensor, window: int, eps: float = 1e-3) -> torch.Tensor:
    """Normalised cross-correlograms r_CCG: [M, T, B, n] -> [M, n, n] (see
    :func:`correlogram_factor`)."""
    return correlogram_factor(spikes, window, eps).dense()


def _pair_sums(
    x: torch.Tensor, y: torch.Tensor, real: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For pairs = x^T y (``x``, ``y`` [M, R, n], padding zero) without building them: the
    diagonal p_ii [M, n], the sum over the pairs i != j [M] and their number (``real`` [M, n]
    marks the real units), each O(R n)."""
    diagonal = (x * y).sum(dim=1)
    total = (x.sum(dim=2) * y.sum(dim=2)).sum(dim=1) - diagonal.sum(dim=1)
    return diagonal, total, real_pair_count(real)


class _CentredPairsPearson(torch.autograd.Function):
    """Pearson of the pairs x^T y [M, n, n] with a centred target, built centred in one pass.

    The mean of the pairs over the real pairs i != j comes from the factors (O(R n)); the
    pairs are built already centred (a rank-1 update of the product), their diagonal and
    padded entries zero, so the variance is a sum of squares of centred values (two-pass
    precision) and the numerator <centred, target> (the target sums to 0 over real pairs).
    The mean gets no gradient: at the exact mean, the variance and the numerator are
    stationary in it. Backward forms d r / d pairs = target / s - num (pairs - mean) / s^3 on
    the real pairs in two passes and hands it to the two products of x^T y.
    """

    @staticmethod
    def forward(ctx, x, y, target, mask, eps):
        real = mask.to(x.dtype)
        _, total, count = _pair_sums(x, y, real)
        mean = total / count
        centred = torch.bmm(x.transpose(1, 2).contiguous(), y)  # faster than a strided x^T
        centre_real_pairs(centred, mean, real)
        m = centred.shape[0]
        spread = (torch.linalg.vector_norm(centred.view(m, -1), dim=1).square() + eps).sqrt()
        numerator = torch.linalg.vecdot(centred.view(m, -1), target.reshape(m, -1))
        ctx.save_for_backward(x, y, centred, target, numerator, spread)
        return numerator / spread

    @staticmethod
    def backward(ctx, grad):
        x, y, centred, target, numerator, spread = ctx.saved_tensors
        on_pairs = centred * (-grad * numerator / spread**3)[:, None, None]
        on_pairs.addcmul_(target, (grad / spread)[:, None, None])
        return torch.bmm(y, on_pairs.transpose(1, 2)), torch.bmm(x, on_pairs), None, None, None


def pairs_pearson_with_target(
    factor: PairFactor, target: torch.Tensor, mask: torch.Tensor, eps: float = 1e-12
) -> torch.Tensor:
    """Pearson correlation of ``factor``'s pairs with a target from
    :func:`~tdsnn_core.losses.clusters.inverse_distance_targets` over the pairs i != j of real
    units (``mask`` [M, n]; padding is zero in ``factor.x``) -> [M], building the [M, n, n]
    pairs once, centred (see :class:`_CentredPairsPearson`)."""
    m, steps, batch, n = factor.x.shape
    rows = factor.x.reshape(m, steps * batch, n)
    mixed = factor.mixed().reshape(m, steps * batch, n)
    return _CentredPairsPearson.apply(rows, mixed, target, mask, eps)


def gram_pearson_with_target(
    factor: PairFactor, target: torch.Tensor, mask: torch.Tensor, eps: float = 1e-12
) -> torch.Tensor:
    """:func:`pairs_pearson_with_target` without building the pairs -> [M].

    ``target`` [M, n, n] as there; ``mask`` [M, n] marks the real units (padding is zero in
    ``factor.x``).
    """
    m, steps, batch, n = factor.x.shape
    rows = factor.x.reshape(m, steps * batch, n)
    numerator = (factor.mixed().reshape_as(rows) * (rows @ target)).sum(dim=(1, 2))
    wide = PairFactor(factor.x.to(GRAM_DTYPE), factor.kernel.to(GRAM_DTYPE))
    x = wide.x.reshape(m, steps * batch, n)  # pairs = x^T y, rows (t, b)
    y = wide.mixed().reshape(m, steps * batch, n)
    diagonal, total, count = _pair_sums(x, y, mask.to(GRAM_DTYPE))
    cross = y @ x.transpose(1, 2)
    squares = (cross * cross.transpose(1, 2)).sum(dim=(1, 2))  # ||x^T y||^2 = tr((y x^T)^2)
    variance = squares - diagonal.square().sum(dim=1) - total.square() / count
    return numerator / (variance.clamp_min(0.0) + eps).sqrt().to(numerator.dtype)


def pearson_cost(
    form: Literal["pairs", "gram"],
    n: int,
    steps: int,
    batch: int,
    elementwise: int = ELEMENTWISE_COST,
    wide: int = 2,
) -> int:
    """Operations of one cluster's Pearson, forward and backward, in ``form``.

    Matrix products count their multiply-adds, an elementwise pass ``elementwise`` per entry
    (passes are memory bound), float64 work ``wide`` times; the O(T B n) elementwise work
    both forms share is left out. Forward and backward make 6 passes over the n x n pairs in
    the ``pairs`` form (:class:`_CentredPairsPearson`) and 4 over the (T B) x (T B) Gram in
    the ``gram`` form.
    ``elementwise=0, wide=1`` counts the matrix products' multiply-adds alone.
    """
    rows = steps * batch
    if form == "pairs":  # x^T (k x) and its two gradient products
        return 3 * rows * n * n + 6 * elementwise * n * n
    # x D and its gradient; the float64 Gram (k x) x^T and its two gradient products
    return 2 * rows * n * n + wide * (3 * rows * rows * n + 4 * elementwise * rows * rows)


def cheaper_form(n: int, steps: int, batch: int) -> Literal["pairs", "gram"]:
    """The form :func:`pearson_with_pairs` picks for ``auto`` (fewer :func:`pearson_cost`)."""
    gram = pearson_cost("gram", n, steps, batch) < pearson_cost("pairs", n, steps, batch)
    return "gram" if gram else "pairs"


def pearson_with_pairs(
    factor: PairFactor,
    target: torch.Tensor,
    mask: torch.Tensor,
    form: Form = "auto",
    eps: float = 1e-12,
) -> torch.Tensor:
    """Pearson of ``factor``'s pairs with ``target`` over the pairs of real units -> [M], in
    the cheaper form by :func:`pearson_cost` (``auto``) or the one named."""
    if form == "auto":
        _, steps, batch, n = factor.x.shape
        form = cheaper_form(n, steps, batch)
    if form == "gram":
        return gram_pearson_with_target(factor, target, mask, eps)
    return pairs_pearson_with_target(factor, target, mask, eps)
