"""Robustness: accuracy under Gaussian noise, FGSM, PGD and per-timestep pixel masking.

Perturbed images stay in [0, 1]. Adversarial gradients flow through the spiking network's
surrogate gradient (cross-entropy of the time-averaged logits). Strengths: noise standard
deviation, L-infinity budget epsilon, or the fraction of pixels masked per timestep.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from tdsnn_core.models import TopographicSNN

Perturbation = Callable[
    [TopographicSNN, torch.Tensor, torch.Tensor, float, torch.Generator], torch.Tensor
]


def gaussian_noise(
    model: TopographicSNN,
    images: torch.Tensor,
    labels: torch.Tensor,
    sigma: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """Images plus N(0, sigma^2) pixel noise, clipped to [0, 1]."""
    noise = torch.randn(images.shape, generator=generator).to(images.device)
    return (images + sigma * noise).clamp(0, 1)


def _loss_gradient(
    model: TopographicSNN, images: torch.Tensor, labels: torch.Tensor
) -> torch.Tensor:
    images = images.detach().requires_grad_(True)
    with torch.enable_grad():
        loss = F.cross_entropy(model(images), labels)
        (gradient,) = torch.autograd.grad(loss, images)
    return gradient


def fgsm(
    model: TopographicSNN,
    images: torch.Tensor,
    labels: torch.Tensor,
    epsilon: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """Fast gradient sign attack: x + epsilon * sign(grad_x loss), clipped to [0, 1]."""
    return (images + epsilon * _loss_gradient(model, images, labels).sign()).clamp(0, 1)


def pgd(
    model: TopographicSNN,
    images: torch.Tensor,
    labels: torch.Tensor,
    epsilon: float,
    generator: torch.Generator,
    *,
    steps: int = 10,
    step_fraction: float = 0.25,
) -> torch.Tensor:
    """Projected gradient descent in the L-infinity ball of radius ``epsilon`` from a random
    start; ``steps`` signed steps of ``step_fraction * epsilon``."""
    start = torch.empty(images.shape).uniform_(-epsilon, epsilon, generator=generator)
    adversarial = (images + start.to(images.device)).clamp(0, 1)
    for _ in range(steps):
        step = step_fraction * epsilon * _loss_gradient(model, adversarial, labels).sign()
        adversarial = images + (adversarial + step - images).clamp(-epsilon, epsilon)
        adversarial = adversarial.clamp(0, 1)
    return adversarial


def pixel_masking(
    model: TopographicSNN,
    images: torch.Tensor,
    labels: torch.Tensor,
    fraction: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """Per-timestep inputs [T, B, C, H, W]: at every step an independent random ``fraction``
    of pixel locations (all channels) is set to 0."""
    if not 0 <= fraction <= 1:
        raise ValueError(f"masking fraction must be in [0, 1], got {fraction}")
    b, _, h, w = images.shape
    keep = torch.rand((model.timesteps, b, 1, h, w), generator=generator) >= fraction
    return images.unsqueeze(0) * keep.to(images.device)


PERTURBATIONS: dict[str, Perturbation] = {
    "gaussian_noise": gaussian_noise,
    "fgsm": fgsm,
    "pgd": pgd,
    "pixel_masking": pixel_masking,
}

DEFAULT_STRENGTHS: dict[str, tuple[float, ...]] = {
    "gaussian_noise": (0.0, 0.1, 0.2, 0.4),
    "fgsm": (0.0, 0.01, 0.03, 0.1),
    "pgd": (0.0, 0.01, 0.03, 0.1),
    "pixel_masking": (0.0, 0.25, 0.5, 0.75),
}


def perturbed_accuracy(
    model: TopographicSNN,
    images: torch.Tensor,
    labels: np.ndarray,
    perturbation: str,
    strength: float,
    *,
    batch_size: int = 64,
    seed: int = 0,
) -> float:
    """Top-1 accuracy (%) of ``model`` on ``images`` perturbed by ``perturbation`` at ``strength``.

    Every perturbation is the identity at strength 0, so that case runs no attack.
    """
    if perturbation not in PERTURBATIONS:
        raise ValueError(f"unknown perturbation {perturbation!r}; known: {sorted(PERTURBATIONS)}")
    attack = PERTURBATIONS[perturbation]
    model.eval()
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    hits = 0
    for start in range(0, len(images), batch_size):
        x = images[start : start + batch_size].to(device)
        y = torch.as_tensor(np.asarray(labels[start : start + batch_size]), device=device)
        perturbed = x if strength == 0 else attack(model, x, y, strength, generator).detach()
        with torch.no_grad():
            hits += int((model(perturbed).argmax(1) == y).sum())
    return 100.0 * hits / len(images)


def robustness_curves(
    model: TopographicSNN,
    images: torch.Tensor,
    labels: np.ndarray,
    strengths: Mapping[str, Sequence[float]] = DEFAULT_STRENGTHS,
    **kwargs,
) -> dict[str, list[tuple[float, float]]]:
    """(strength, accuracy %) for every perturbation and strength in ``strengths``."""
    return {
        name: [
            (float(s), perturbed_accuracy(model, images, labels, name, s, **kwargs)) for s in values
        ]
        for name, values in strengths.items()
    }
