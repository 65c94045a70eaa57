"""Robustness: accuracy under Gaussian noise, FGSM, PGD and per-timestep pixel masking.

Perturbed images stay in [0, 1]. Adversarial gradients flow through the spiking network's
surrogate gradient (cross-entropy of the time-averaged logits). Strengths: noise standard
deviation, L-infinity budget epsilon, or the fraction of pixels masked per timestep.

:func:`robustness_curves` keeps every image's correctness, so that two models evaluated on
the same images compare by a paired bootstrap (:meth:`RobustnessCurve.difference`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from tdsnn_core.analysis.intervals import Interval, bootstrap_interval, paired_difference
from tdsnn_core.models import TopographicSNN
from tdsnn_core.recording import predict

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


def perturbed_correct(
    model: TopographicSNN,
    images: torch.Tensor,
    labels: np.ndarray,
    perturbation: str,
    strength: float,
    *,
    batch_size: int = 64,
    seed: int = 0,
) -> np.ndarray:
    """Whether ``model`` classifies each image correctly once perturbed by ``perturbation`` at
    ``strength``: bool [n_images].

    Every perturbation is the identity at strength 0, so that case runs no attack and goes
    through the shared forward runner; attacks need the model's gradient per batch (and
    masking makes per-timestep inputs), so they run their own batch loop.
    """
    if perturbation not in PERTURBATIONS:
        raise ValueError(f"unknown perturbation {perturbation!r}; known: {sorted(PERTURBATIONS)}")
    labels = np.asarray(labels)
    if strength == 0:
        return predict(model, images, batch_size) == labels
    attack = PERTURBATIONS[perturbation]
    model.eval()
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    predicted = []
    for start in range(0, len(images), batch_size):
        x = images[start : start + batch_size].to(device)
        y = torch.as_tensor(labels[start : start + batch_size], device=device)
        perturbed = attack(model, x, y, strength, generator).detach()
        with torch.no_grad():
            predicted.append(model(perturbed).argmax(1).cpu().numpy())
    return np.concatenate(predicted) == labels


def perturbed_accuracy(
    model: TopographicSNN,
    images: torch.Tensor,
    labels: np.ndarray,
    perturbation: str,
    strength: float,
    **kwargs,
) -> float:
    """Top-1 accuracy (%) of :func:`perturbed_correct`."""
    return 100.0 * float(
        perturbed_correct(model, images, labels, perturbation, strength, **kwargs).mean()
    )


@dataclass(frozen=True)
class RobustnessCurve:
    """Per-image correctness [n_strengths, n_images] of one model under one perturbation at
    each of ``strengths``. Iterates as (strength, accuracy %) pairs."""

    strengths: np.ndarray
    correct: np.ndarray

    @property
    def accuracy(self) -> np.ndarray:
        """Accuracy (%) at each strength."""
        return 100.0 * self.correct.mean(1)

    def __iter__(self) -> Iterator[tuple[float, float]]:
        return zip(map(float, self.strengths), map(float, self.accuracy), strict=True)

    def __len__(self) -> int:
        return len(self.strengths)

    def intervals(self, *, groups: np.ndarray | None = None, seed: int = 0) -> list[Interval]:
        """Accuracy (%) at each strength with its 95 % bootstrap interval over the images, or
        over whole ``groups`` (the source image of each image)."""
        return [bootstrap_interval(100.0 * c, groups=groups, seed=seed) for c in self.correct]

    def difference(
        self, other: RobustnessCurve, *, groups: np.ndarray | None = None, seed: int = 0
    ) -> list[Interval]:
        """Accuracy of this model minus ``other``'s (points) at each strength, with a paired
        bootstrap 95 % interval over the images or whole ``groups`` (both curves must share
        strengths and images)."""
        if not np.array_equal(self.strengths, other.strengths) or (
            self.correct.shape != other.correct.shape
        ):
            raise ValueError("curves compare only at the same strengths on the same images")
        return [
            paired_difference(100.0 * a, 100.0 * b, groups=groups, seed=seed)
            for a, b in zip(self.correct, other.correct, strict=True)
        ]


def robustness_curves(
    model: TopographicSNN,
    images: torch.Tensor,
    labels: np.ndarray,
    strengths: Mapping[str, Sequence[float]] = DEFAULT_STRENGTHS,
    **kwargs,
) -> dict[str, RobustnessCurve]:
    """A :class:`RobustnessCurve` for every perturbation and its strengths in ``strengths``."""
    return {
        name: RobustnessCurve(
            np.asarray(values, dtype=float),
            np.array(
                [perturbed_correct(model, images, labels, name, s, **kwargs) for s in values],
                dtype=bool,
            ).reshape(len(values), len(images)),
        )
        for name, values in strengths.items()
    }
