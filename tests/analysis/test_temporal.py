"""Temporal dynamics against answers known by construction (the hand-wired PatchNet fires
its class's two units at every step and nothing else)."""

import numpy as np
import pytest
import torch
from analysis_models import N_CLASSES, patch_images, patch_sheet

from tdsnn_core.analysis.temporal import (
    fisher_information,
    spiking_statistics,
    synchrony_vs_distance,
    timestep_sweep,
    word_entropy,
)


def test_word_entropy_known_values():
    spikes = np.zeros((3, 8, 4), dtype=np.uint8)  # [T, images, units]
    for image in range(8):  # unit 1: 8 distinct words -> 3 bits
        spikes[:, image, 1] = [(image >> bit) & 1 for bit in range(3)]
    spikes[0, :4, 2] = 1  # unit 2: two equally likely words -> 1 bit
    spikes[:, :, 3] = 1  # unit 3: always the same word -> 0 bits (like unit 0, silent)
    np.testing.assert_allclose(word_entropy(spikes), [0.0, 3.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="cannot be packed"):
        word_entropy(np.zeros((63, 2, 1)))


def test_rates_entropy_and_accuracy_per_timestep(patchnet):
    images, labels = patch_images()
    stats = timestep_sweep(patchnet, images, labels, [1, 4, 6])
    assert [s.timesteps for s in stats] == [1, 4, 6]
    one_of_three = -(1 / 3 * np.log2(1 / 3) + 2 / 3 * np.log2(2 / 3))  # 0.918 bits
    for s in stats:
        assert s.accuracy == 100.0
        np.testing.assert_allclose(s.rate_per_step["it"], np.full(s.timesteps, 1 / N_CLASSES))
        assert s.entropy_bits["it"] == pytest.approx(one_of_three)


def test_unlabelled_statistics_have_no_accuracy(patchnet):
    images, _ = patch_images()
    assert spiking_statistics(patchnet, images).accuracy is None


def test_synchrony_is_one_within_a_patch_and_zero_across(patchnet):
    images, _ = patch_images()
    curve = synchrony_vs_distance(
        patchnet, images, patch_sheet(), window=1, n_bins=6, max_distance_mm=30.0
    )
    # the 3 pairs 1 mm apart (same class) fire identically; pairs of different classes
    # (9 to 21 mm apart) never co-fire; no pair is 25 mm or more apart
    np.testing.assert_allclose(curve.mean_r, [1.0, 0, 0, 0, 0, np.nan], atol=1e-5)
    np.testing.assert_array_equal(curve.pair_counts, [3, 2, 6, 1, 3, 0])


def test_synchrony_of_a_silent_layer_is_a_clear_error(patchnet):
    with pytest.raises(ValueError, match="synchrony needs at least 2"):
        synchrony_vs_distance(patchnet, torch.zeros(3, 1, 2, 2), patch_sheet())


def test_fisher_information_matches_the_analytic_readout_gradient(patchnet):
    """With the encoder frozen, only the readout (W, b) has gradients:
    ||d log p_y / d(W, b)||^2 = ||e_y - p||^2 (||s||^2 + 1), with s the mean spikes."""
    patchnet.encode.weight.requires_grad_(False)
    images, labels = patch_images(per_class=1)
    information = fisher_information(patchnet, images, labels)
    spikes = np.full(2, 1.0)  # the class's two units spike at every step: mean 1 each
    logits = np.array([2.0, 0.0, 0.0])
    p = np.exp(logits) / np.exp(logits).sum()
    expected = np.sum((np.eye(3)[0] - p) ** 2) * (spikes @ spikes + 1)
    np.testing.assert_allclose(information, np.full(4, expected), rtol=1e-5)
