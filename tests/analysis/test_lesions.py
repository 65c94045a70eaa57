"""Lesions: exactly the disc's units go silent, and a class that depends on one patch is
the only class lost when that patch is lesioned."""

import numpy as np
import pytest
import torch
from analysis_models import N_CLASSES, patch_images, patch_sheet

from tdsnn_core.analysis.lesions import (
    ClassifierScorer,
    ReadoutScorer,
    disc_lesion,
    disc_units,
    lesion_sweep,
    random_units,
    unit_lesion,
)
from tdsnn_core.analysis.probes import ProbeSet
from tdsnn_core.checkpoints import load_checkpoint
from tdsnn_core.models import lesioned

CLASSES = ("a", "b", "c")


def test_disc_units_are_the_units_within_the_radius():
    xs, ys = np.meshgrid(np.arange(11.0), np.arange(11.0))
    positions = np.column_stack([xs.ravel(), ys.ravel()])
    units = disc_units(positions, (5.0, 5.0), 1.0)
    expected = [(5, 4), (4, 5), (5, 5), (6, 5), (5, 6)]  # (x, y), the centre and 4 neighbours
    assert sorted(map(tuple, positions[units].astype(int))) == sorted(expected)
    assert len(disc_units(positions, (5.0, 5.0), 0.0)) == 1
    assert len(disc_units(positions, (-50.0, -50.0), 3.0)) == 0
    with pytest.raises(ValueError, match="radius"):
        disc_units(positions, (0, 0), -1.0)


def test_lesion_silences_exactly_the_disc_at_every_timestep(tiny_checkpoint, one_thread):
    ckpt = load_checkpoint(tiny_checkpoint)
    sheet = ckpt.sheets["layer4.1"]
    units = disc_units(sheet.positions, (35.0, 35.0), 15.0)
    images = torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        intact = ckpt.model(images, return_spikes=True).spikes["layer4.1"].flatten(2)
        with lesioned(ckpt.model, {"layer4.1": units}):
            cut = ckpt.model(images, return_spikes=True).spikes["layer4.1"].flatten(2)
    outside = np.setdiff1d(np.arange(sheet.num_units), units)
    assert 0 < len(units) < sheet.num_units
    assert intact[:, :, units].sum() > 0  # the disc's units did fire before the lesion
    assert cut[:, :, units].abs().sum() == 0  # every step, every image
    torch.testing.assert_close(cut[:, :, outside], intact[:, :, outside])


@pytest.mark.parametrize("lost_class", [1, 2])
def test_lesioning_a_class_patch_loses_that_class_only(patchnet, lost_class):
    images, labels = patch_images()
    scorer = ClassifierScorer(patchnet, images, labels, CLASSES)
    centre = (10.0 * lost_class + 5.0, 5.0)
    effect = disc_lesion(scorer, patch_sheet(), centre, 2.0, seed=3)
    expected_after = np.ones(N_CLASSES)
    expected_after[lost_class] = 0.0
    np.testing.assert_array_equal(effect.before, np.ones(N_CLASSES))
    np.testing.assert_array_equal(effect.after, expected_after)
    assert effect.n_units == 2 and effect.radius_mm == 2.0 and effect.centre_mm == centre
    assert effect.control_after.shape == (N_CLASSES,)


def test_readout_lesion_loses_the_category_of_the_patch(patchnet):
    images, labels = patch_images(per_class=6)
    scorer = ReadoutScorer.fit(patchnet, ProbeSet(images, labels, CLASSES), "it")
    effect = unit_lesion(scorer, "it", np.array([2, 3]), 6)
    np.testing.assert_array_equal(effect.before, [1, 1, 1])
    np.testing.assert_array_equal(effect.after, [1, 0, 1])


def test_sweep_grows_the_lesion_and_zero_units_change_nothing(patchnet):
    images, labels = patch_images()
    scorer = ClassifierScorer(patchnet, images, labels, CLASSES)
    sweep = lesion_sweep(scorer, patch_sheet(), (15.0, 5.0), [0.1, 2.0, 12.0])
    assert [e.n_units for e in sweep] == [0, 2, 6]
    np.testing.assert_array_equal(sweep[0].after, sweep[0].before)
    np.testing.assert_array_equal(sweep[0].control_after, sweep[0].before)
    np.testing.assert_array_equal(sweep[1].deficit, [0, 1, 0])
    np.testing.assert_array_equal(sweep[2].deficit, [0, 1, 1])  # all silent: argmax says 0


def test_random_control_and_errors(patchnet):
    drawn = random_units(100, 10, seed=1)
    assert len(np.unique(drawn)) == 10 and drawn.min() >= 0 and drawn.max() < 100
    with pytest.raises(ValueError, match="distinct units"):
        random_units(5, 6)
    images, labels = patch_images()
    missing_class = ClassifierScorer(patchnet, images[labels < 2], labels[labels < 2], CLASSES)
    with pytest.raises(ValueError, match="no test image"):
        missing_class({})
    with pytest.raises(ValueError, match="at least 2 categories"):
        ReadoutScorer.fit(patchnet, ProbeSet(images[:4], labels[:4] * 0, ("a",)), "it")
