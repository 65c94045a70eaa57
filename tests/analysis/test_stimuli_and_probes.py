"""Grating sets and category probe sets: layout, sizes, value ranges, folder loading."""

import numpy as np
import pytest
import torch
from PIL import Image

from tdsnn_core.analysis import grating_tuning
from tdsnn_core.analysis.probes import (
    DEFAULT_PER_CATEGORY,
    ProbeSet,
    default_probe_set,
    load_probe_folder,
    to_model_input,
)
from tdsnn_core.analysis.stimuli import grating_set


def test_grating_responses_reshape_by_condition():
    gratings = grating_set(16, 1, n_orientations=6, frequencies=[2.0, 4.0], phases_deg=[0, 180])
    assert gratings.images.shape == (6 * 2 * 2, 1, 16, 16)
    assert gratings.shape == (6, 2, 2, 1)
    # a unit that fires only for 60 degree gratings at 4 cycles per image
    rates = np.zeros((len(gratings.images), 1))
    for i, (o, f, _) in enumerate(np.ndindex(6, 2, 2)):
        rates[i] = 1.0 if (gratings.orientations_deg[o], gratings.frequencies[f]) == (60, 4) else 0
    tuning = grating_tuning(
        gratings.responses(rates), gratings.orientations_deg, gratings.frequencies
    )
    assert tuning.preferred_orientation_deg[0] == pytest.approx(60.0)
    assert tuning.preferred_spatial_frequency[0] == 4.0


def test_gratings_match_their_parameters():
    gratings = grating_set(32, 1, n_orientations=4, frequencies=[4.0], phases_deg=[0])
    horizontal_wave = gratings.images[0, 0]  # orientation 0: varies along x only
    assert torch.allclose(horizontal_wave, horizontal_wave[:1].expand(32, -1))
    vertical_wave = gratings.images[2, 0]  # orientation 90: varies along y only
    assert torch.allclose(vertical_wave, vertical_wave[:, :1].expand(-1, 32))


def test_colour_gratings_include_opponent_hues():
    gratings = grating_set(16, 3, n_orientations=2, frequencies=[2.0], phases_deg=[0])
    assert gratings.colors == ("grey", "red-green", "blue-yellow")
    images = gratings.images
    assert images.shape == (2 * 3, 3, 16, 16) and images.min() >= 0 and images.max() <= 1
    red_green = images[1]
    torch.testing.assert_close(red_green[0] + red_green[1], torch.ones(16, 16))  # antiphase
    rates = np.arange(6.0)[:, None]
    np.testing.assert_allclose(gratings.color_curves(rates)[:, 0], [1.5, 2.5, 3.5])
    with pytest.raises(ValueError, match="weights in"):
        grating_set(16, 3, colors={"bad": (2.0, 0.0, 0.0)})
    with pytest.raises(ValueError, match="rates must be"):
        gratings.responses(np.zeros((5, 1)))


def test_default_probe_set_has_the_floc_categories(tmp_path):
    probes = default_probe_set(28, 1, per_category=5)
    assert probes.categories == ("faces", "bodies", "characters", "places", "objects")
    assert probes.counts() == dict.fromkeys(probes.categories, 5)
    assert probes.images.shape == (25, 1, 28, 28)
    assert probes.images.min() >= 0 and probes.images.max() <= 1
    assert "not bodies" in probes.descriptions["bodies"]
    colour = default_probe_set(40, 3, per_category=2)
    assert colour.images.shape == (10, 3, 40, 40)
    without_fashion = default_probe_set(28, 1, per_category=3, fashion_root=tmp_path)
    assert "bodies" not in without_fashion.categories
    with pytest.raises(ValueError, match="per_category"):
        default_probe_set(28, 1, per_category=1)


def test_default_probes_give_a_scored_half_of_100_per_category_without_shared_sources():
    probes = default_probe_set(28, 1)
    assert probes.counts() == dict.fromkeys(probes.categories, DEFAULT_PER_CATEGORY)
    fit, score = probes.halves()
    assert not set(probes.sources[fit]) & set(probes.sources[score])
    assert np.all(np.bincount(probes.labels[score]) >= 100)  # 1 image = at most 1 point
    # only the 100 LFW faces need variants: each face is its source's original or a variant
    faces = np.flatnonzero(probes.labels == 0)
    assert len(np.unique(probes.sources[faces])) == 100
    assert len(np.unique(probes.sources)) == len(probes.labels) - (DEFAULT_PER_CATEGORY - 100)
    originals = faces[:100]  # the real crops come first, each its own source
    assert len(np.unique(probes.sources[originals])) == 100
    for variant in faces[100:110]:
        source = originals[probes.sources[originals] == probes.sources[variant]][0]
        own = (probes.images[variant] - probes.images[source]).abs().mean()
        flipped = (probes.images[variant] - probes.images[source].flip(-1)).abs().mean()
        others = originals[originals != source]
        nearest_other = (probes.images[others] - probes.images[variant]).abs().mean((1, 2, 3))
        assert 0 < min(own, flipped) < nearest_other.min()  # a variant, nearest its source
    assert probes.images.min() >= 0 and probes.images.max() <= 1


def test_halves_keep_variants_together_and_alternate_sources():
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1])
    sources = np.array([7, 7, 3, 3, 5, 8, 5, 9, 9])
    fit, score = ProbeSet(torch.zeros(9, 1, 2, 2), labels, ("a", "b"), sources=sources).halves()
    np.testing.assert_array_equal(fit, [1, 1, 0, 0, 1, 0, 1, 1, 1])
    np.testing.assert_array_equal(score, ~fit)
    default = ProbeSet(torch.zeros(4, 1, 2, 2), np.array([0, 0, 1, 1]), ("a", "b"))
    np.testing.assert_array_equal(default.sources, np.arange(4))
    np.testing.assert_array_equal(default.halves()[0], [1, 0, 1, 0])
    with pytest.raises(ValueError, match="source id per image"):
        ProbeSet(torch.zeros(4, 1, 2, 2), np.array([0, 0, 1, 1]), ("a", "b"), sources=[0])


def test_probe_folder_layout(tmp_path):
    rng = np.random.default_rng(0)
    for category, n in (("zebras", 2), ("places", 3), ("faces", 4)):
        (tmp_path / category).mkdir()
        for i in range(n):
            pixels = rng.integers(0, 256, (30, 20, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / category / f"{i}.png")
    (tmp_path / "faces" / "notes.txt").write_text("not an image")
    (tmp_path / "empty").mkdir()
    probes = load_probe_folder(tmp_path, 24, 1)
    assert probes.categories == ("faces", "places", "zebras")  # fLoc order, then the rest
    assert probes.counts() == {"faces": 4, "places": 3, "zebras": 2}
    assert probes.images.shape == (9, 1, 24, 24)
    assert load_probe_folder(tmp_path, 24, 3, per_category=1).images.shape == (3, 3, 24, 24)
    with pytest.raises(FileNotFoundError, match="not found"):
        load_probe_folder(tmp_path / "missing", 24, 1)
    with pytest.raises(ValueError, match="no category"):
        load_probe_folder(tmp_path / "empty", 24, 1)


def test_to_model_input_scales_and_converts():
    grey = to_model_input(np.full((2, 8, 8), 255, dtype=np.uint8), 16, 3)
    assert grey.shape == (2, 3, 16, 16) and torch.allclose(grey, torch.ones_like(grey))
    colour = to_model_input(np.zeros((1, 8, 8, 3)), 4, 1)
    assert colour.shape == (1, 1, 4, 4)
    with pytest.raises(ValueError, match="channels"):
        to_model_input(np.zeros((1, 8, 8, 3)), 4, 2)


def test_source_means_give_one_sample_per_independent_image():
    """Augmented variants of a face must not count as more faces in a Welch t."""
    images = torch.zeros(5, 1, 4, 4)
    probes = ProbeSet(
        images, np.array([0, 0, 0, 1, 1]), ("a", "b"), sources=np.array([7, 7, 3, 9, 9])
    )
    responses = np.array([[1.0, 0.0], [3.0, 2.0], [5.0, 5.0], [0.0, 1.0], [2.0, 3.0]])
    means, labels = probes.source_means(responses)
    np.testing.assert_array_equal(labels, [0, 0, 1])  # sources 3, 7, 9
    np.testing.assert_array_equal(means, [[5.0, 5.0], [2.0, 1.0], [1.0, 2.0]])
