"""Perturbations: identities at strength 0, budgets respected, gradients through spikes;
per-image correctness for paired model-vs-model intervals."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from analysis_models import patch_images

from tdsnn_core.checkpoints import load_checkpoint
from tdsnn_core.experiments.robustness import (
    fgsm,
    gaussian_noise,
    perturbed_accuracy,
    pgd,
    pixel_masking,
    robustness_curves,
)


def generator() -> torch.Generator:
    return torch.Generator().manual_seed(0)


@pytest.fixture(scope="module")
def tiny(tiny_checkpoint):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    model = load_checkpoint(tiny_checkpoint).model
    images = torch.rand(8, 1, 28, 28, generator=generator())
    labels = torch.arange(8) % 10
    yield model, images, labels
    torch.set_num_threads(threads)


def test_strength_zero_is_the_identity(tiny):
    model, images, labels = tiny
    for attack in (gaussian_noise, fgsm):
        torch.testing.assert_close(attack(model, images, labels, 0.0, generator()), images)
    masked = pixel_masking(model, images, labels, 0.0, generator())
    torch.testing.assert_close(masked, images.expand(model.timesteps, *images.shape))


def test_masking_hides_a_fraction_per_timestep_across_channels():
    images = torch.ones(16, 3, 20, 20)
    model = type("Stub", (), {"timesteps": 5})()  # pixel_masking only reads model.timesteps
    masked = pixel_masking(model, images, None, 0.3, generator())
    assert masked.shape == (5, 16, 3, 20, 20)
    assert (masked == 0).float().mean().item() == pytest.approx(0.3, abs=0.02)
    assert torch.equal(masked[:, :, 0], masked[:, :, 2])  # a pixel is masked in every channel
    assert not torch.equal(masked[0], masked[1])  # a new mask at every step
    assert pixel_masking(model, images, None, 1.0, generator()).abs().sum() == 0
    with pytest.raises(ValueError, match="fraction"):
        pixel_masking(model, images, None, 1.5, generator())


def test_adversarial_images_stay_in_budget_and_raise_the_loss(tiny):
    model, images, labels = tiny
    epsilon = 0.05
    for attack in (fgsm, pgd):
        adversarial = attack(model, images, labels, epsilon, generator())
        assert (adversarial - images).abs().max() <= epsilon + 1e-6
        assert adversarial.min() >= 0 and adversarial.max() <= 1
        with torch.no_grad():
            clean_loss = F.cross_entropy(model(images), labels)
            attacked_loss = F.cross_entropy(model(adversarial), labels)
        assert attacked_loss > clean_loss  # the surrogate gradient points uphill


def test_noise_has_the_requested_spread():
    images = torch.full((4, 1, 32, 32), 0.5)
    noisy = gaussian_noise(None, images, None, 0.1, generator())
    assert (noisy - images).std().item() == pytest.approx(0.1, rel=0.05)


def test_curves_on_a_perfect_network(patchnet):
    images, labels = patch_images()
    curves = robustness_curves(
        patchnet, images, labels, {"gaussian_noise": (0.0,), "pixel_masking": (0.0, 1.0)}
    )
    assert list(curves["gaussian_noise"]) == [(0.0, 100.0)]
    # everything masked: all logits 0, argmax reads class 0 for every image
    masked = curves["pixel_masking"]
    np.testing.assert_allclose(list(masked), [(0.0, 100.0), (1.0, 100.0 / 3)])
    np.testing.assert_allclose(masked.accuracy, [100.0, 100.0 / 3])
    np.testing.assert_array_equal(masked.correct, [np.ones(len(labels)), labels == 0])
    with pytest.raises(ValueError, match="unknown perturbation"):
        perturbed_accuracy(patchnet, images, np.asarray(labels), "blur", 1.0)


def test_model_differences_are_paired_bootstraps_over_images(patchnet):
    images, labels = patch_images(per_class=30)
    strengths = {"pixel_masking": (0.0, 1.0)}
    intact = robustness_curves(patchnet, images, labels, strengths)["pixel_masking"]
    worse = copy.deepcopy(patchnet)
    with torch.no_grad():
        worse.fc.weight[1] = 0.0  # class 1's logit stays 0: its images read as class 0
    lossy = robustness_curves(worse, images, labels, strengths)["pixel_masking"]
    clean, masked = intact.difference(lossy)
    # 30 of 90 images differ by 100 points: 33.3 points, SE sqrt(p (1 - p) / n)
    assert clean.estimate == pytest.approx(100 / 3) and clean.excludes_zero
    half_width = 100 * 1.96 * np.sqrt((1 / 3) * (2 / 3) / len(labels))
    assert (clean.high - clean.low) / 2 == pytest.approx(half_width, rel=0.15)
    assert clean.low < 100 / 3 < clean.high
    assert (masked.estimate, masked.low, masked.high) == (0.0, 0.0, 0.0)  # both read class 0
    assert not masked.excludes_zero
    with pytest.raises(ValueError, match="same strengths"):
        intact.difference(robustness_curves(patchnet, images, labels, {"fgsm": (0.0,)})["fgsm"])


def test_each_accuracy_has_a_binomial_width_interval(patchnet):
    """Masking everything leaves class 0 right (1/3 of 90): the interval's half-width is the
    binomial 1.96 sqrt(p (1 - p) / n); all right, it is exactly [100, 100]."""
    images, labels = patch_images(per_class=30)
    curve = robustness_curves(patchnet, images, labels, {"pixel_masking": (0.0, 1.0)})
    clean, masked = curve["pixel_masking"].intervals()
    assert (clean.estimate, clean.low, clean.high) == (100.0, 100.0, 100.0)
    half_width = 100 * 1.96 * np.sqrt((1 / 3) * (2 / 3) / len(labels))
    assert masked.estimate == pytest.approx(100 / 3)
    assert (masked.high - masked.low) / 2 == pytest.approx(half_width, rel=0.15)
