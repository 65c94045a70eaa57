"""Lesions: exactly the disc's units go silent; on hand-wired networks whose deficits are known
in points by construction, the deficits, their intervals, the random controls and the
"specific" verdicts come out as built."""

import numpy as np
import pytest
import torch
from analysis_models import N_CLASSES, patch_images, patch_sheet
from spikingjelly.activation_based import layer, neuron, surrogate

from tdsnn_core.analysis.probes import ProbeSet
from tdsnn_core.checkpoints import load_checkpoint
from tdsnn_core.experiments.lesions import (
    N_CONTROLS,
    ClassifierScorer,
    LesionEffect,
    ReadoutScorer,
    Score,
    disc_lesion,
    disc_units,
    lesion_sweep,
    random_units,
    unit_lesion,
)
from tdsnn_core.models import TopographicSNN, TopoLayer, lesioned
from tdsnn_core.sheets import CorticalSheet

CLASSES = ("a", "b", "c")
U = 10  # units per patch; category k owns a patch and a backup region of U units each
N_UNITS = 2 * N_CLASSES * U
PER_CATEGORY = 100  # 1 image = 1 point
REDUNDANT = 60  # images per category that also light a backup unit


class RedundantNet(TopographicSNN):
    """Pixel j drives unit j of layer "it" (LIF, tau 2) to spike at every step. Logit k counts
    the spikes of category k's patch (units kU..kU+U-1) and backup region (units (K+k)U..);
    a reject logit (bias 0.5) wins when none spikes. An image is answered correctly exactly
    when one of the units it lights survives a lesion."""

    def __init__(self) -> None:
        super().__init__("redundantnet", {}, timesteps=4, input_mean=[0.0], input_std=[1.0])
        self.encode = layer.Linear(N_UNITS, N_UNITS, bias=False, step_mode="m")
        self.lif = neuron.LIFNode(tau=2.0, surrogate_function=surrogate.ATan(), step_mode="m")
        self.silencer_it = self._register_topographic(TopoLayer("it", "IT", (N_UNITS, 1, 1), 1.0))
        self.fc = layer.Linear(N_UNITS, N_CLASSES + 1, step_mode="m")
        with torch.no_grad():
            self.encode.weight.copy_(10.0 * torch.eye(N_UNITS))
            self.fc.weight.zero_()
            self.fc.bias.zero_()
            self.fc.bias[N_CLASSES] = 0.5
            for k in range(N_CLASSES):
                self.fc.weight[k, patch(k)] = 1.0
                self.fc.weight[k, backup(k)] = 1.0
        self.num_classes = N_CLASSES + 1

    def forward_steps(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        spikes = self.silencer_it(self.lif(self.encode(x.flatten(2))).view(*x.shape[:2], -1, 1, 1))
        return spikes.flatten(2), {"it": spikes}


def patch(k: int) -> np.ndarray:
    return np.arange(k * U, (k + 1) * U)


def backup(k: int) -> np.ndarray:
    return patch(N_CLASSES + k)


def redundant_images() -> tuple[torch.Tensor, np.ndarray]:
    """Image i of category k lights patch unit i mod U; the first REDUNDANT also light backup
    unit i mod U. A patch lesion of k thus costs k exactly 100 - REDUNDANT = 40 points."""
    lit = np.zeros((N_CLASSES * PER_CATEGORY, N_UNITS), dtype=np.float32)
    labels = np.repeat(np.arange(N_CLASSES), PER_CATEGORY)
    for row, (k, i) in enumerate(np.ndindex(N_CLASSES, PER_CATEGORY)):
        lit[row, patch(k)[i % U]] = 1.0
        if i < REDUNDANT:
            lit[row, backup(k)[i % U]] = 1.0
    return torch.as_tensor(lit).view(len(labels), 1, 1, N_UNITS), labels


def expected_accuracy(images: torch.Tensor, labels: np.ndarray, silenced: np.ndarray):
    """Per category, % of images with a lit unit outside ``silenced`` (the wiring's answer)."""
    lit = images.view(len(labels), N_UNITS).numpy() > 0
    lit[:, silenced] = False
    survives = lit.any(1)
    return np.array([100.0 * survives[labels == k].mean() for k in range(N_CLASSES)])


def redundant_sheet() -> CorticalSheet:
    """Category k's patch on a line at y = 5 mm around x = 10 k + 5, its backup at y = 25."""
    offsets = np.linspace(-2.0, 2.0, U)
    xs = np.concatenate([10.0 * k + 5.0 + offsets for k in range(N_CLASSES)] * 2)
    ys = np.repeat([5.0, 25.0], N_CLASSES * U)
    positions = np.column_stack([xs, ys]).astype(np.float32)
    return CorticalSheet("it", "IT", (N_UNITS, 1, 1), positions, 30.0, 5.0)


@pytest.fixture(scope="module")
def redundant():
    images, labels = redundant_images()
    return ClassifierScorer(RedundantNet().eval(), images, labels, CLASSES), images, labels


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


@pytest.mark.parametrize("target", [0, 1, 2])
def test_patch_lesion_costs_its_category_the_known_points_and_is_specific(redundant, target):
    scorer, images, labels = redundant
    effect = disc_lesion(scorer, redundant_sheet(), (10.0 * target + 5.0, 5.0), 2.5, seed=7)
    assert effect.n_units == U and effect.centre_mm == (10.0 * target + 5.0, 5.0)
    truth = np.zeros(N_CLASSES)
    truth[target] = 100.0 - REDUNDANT  # 40 points, by construction
    np.testing.assert_array_equal(effect.before, [100.0] * N_CLASSES)
    np.testing.assert_array_equal(effect.deficit, truth)
    low, high = effect.deficit_interval[target]
    assert low < truth[target] < high
    # paired Bernoulli deficits on 100 images: half-width 1.96 * sqrt(p (1 - p) / n)
    half_width = 100 * 1.96 * np.sqrt(0.4 * 0.6 / PER_CATEGORY)
    assert (high - low) / 2 == pytest.approx(half_width, rel=0.15)
    others = np.arange(N_CLASSES) != target
    np.testing.assert_array_equal(effect.deficit_interval[others], 0.0)
    # the controls are the draws of random_units from the lesion's seed, scored as wired
    rng = np.random.default_rng(7)
    draws = [random_units(N_UNITS, U, rng) for _ in range(N_CONTROLS)]
    expected = np.stack([expected_accuracy(images, labels, d) for d in draws])
    np.testing.assert_allclose(effect.control_draws, expected)
    np.testing.assert_allclose(effect.control_after, expected.mean(0))
    # one random lesion's deficit: it spans the spread of the draws (and the images' noise)
    lost = 100.0 - expected[:, target]
    control_low, control_high = effect.control_interval[target]
    assert control_low <= np.percentile(lost, 10) and control_high >= np.percentile(lost, 90)
    assert control_low < effect.control_deficit[target] < control_high < low
    np.testing.assert_array_equal(effect.specific, ~others)


def test_lesions_without_a_category_effect_are_not_specific(redundant):
    scorer, _, _ = redundant
    # backups only matter once the patch is gone: silencing them costs nothing
    spare = unit_lesion(scorer, "it", backup(1), N_UNITS)
    np.testing.assert_array_equal(spare.deficit, 0.0)
    assert not spare.specific.any()
    # the whole layer loses everything, but so does every "random" lesion of it
    everything = unit_lesion(scorer, "it", np.arange(N_UNITS), N_UNITS)
    np.testing.assert_array_equal(everything.deficit, 100.0)
    np.testing.assert_array_equal(everything.control_interval, 100.0)
    assert not everything.specific.any()


def test_more_controls_on_request_and_fewer_than_twenty_refused(redundant):
    scorer, _, _ = redundant
    effect = unit_lesion(scorer, "it", patch(0)[:3], N_UNITS, n_controls=25)
    assert effect.control_draws.shape == (25, N_CLASSES)
    np.testing.assert_array_equal(effect.deficit, [12.0, 0.0, 0.0])  # 3 of 10 units, 4 images each
    with pytest.raises(ValueError, match="random controls"):
        unit_lesion(scorer, "it", patch(0), N_UNITS, n_controls=19)


def test_sweep_grows_the_lesion_and_zero_units_change_nothing(patchnet):
    images, labels = patch_images()
    scorer = ClassifierScorer(patchnet, images, labels, CLASSES)
    sweep = lesion_sweep(scorer, patch_sheet(), (15.0, 5.0), [0.1, 2.0, 12.0])
    assert [e.n_units for e in sweep] == [0, 2, 6]
    np.testing.assert_array_equal(sweep[0].after, sweep[0].before)
    np.testing.assert_array_equal(sweep[0].control_draws, 100.0)
    np.testing.assert_array_equal(sweep[1].deficit, [0, 100, 0])
    np.testing.assert_array_equal(sweep[2].deficit, [0, 100, 100])  # all silent: argmax says 0


def test_readout_lesion_loses_the_category_of_the_patch(patchnet):
    images, labels = patch_images(per_class=8)
    sources = np.arange(len(labels)) // 2  # pairs of variants of one source
    probes = ProbeSet(images, labels, CLASSES, sources=sources)
    scorer = ReadoutScorer.fit(patchnet, probes, "it")
    # cross-fitted: every probe is scored, by the readout fitted on the half without its
    # source (every other source of each class, both of its variants)
    assert len(scorer.labels) == len(labels)
    halves = probes.halves()
    for k, readout in enumerate(scorer.readouts):
        scored = scorer.scored_by == k
        np.testing.assert_array_equal(scored, halves[k])
        assert not set(sources[scored]) & set(sources[~scored])
        assert readout.classes_.tolist() == [0, 1, 2]
    effect = unit_lesion(scorer, "it", np.array([2, 3]), 6)
    np.testing.assert_array_equal(effect.before, [100, 100, 100])
    np.testing.assert_array_equal(effect.after, [100, 0, 100])
    # 8 scored images of class 1 in 4 pairs: the interval resamples pairs, not images
    np.testing.assert_array_equal(effect.deficit_interval[1], [100, 100])


def test_scores_random_control_and_errors(patchnet):
    score = Score(np.array([True, False, True, True]), np.array([0, 0, 1, 1]), 2)
    np.testing.assert_array_equal(score.accuracy, [50.0, 100.0])
    np.testing.assert_array_equal(score.groups, np.arange(4))
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
    with pytest.raises(ValueError, match="at least 2 probe sources"):
        ReadoutScorer.fit(patchnet, ProbeSet(images, labels, CLASSES, sources=labels), "it")


@pytest.mark.parametrize("model_name", ["sresnet_mini", "spikformer_mini", "cornet_rt_mini"])
def test_readout_lesion_shortcut_equals_running_the_lesioned_model(model_name, one_thread):
    """Silencing units of the read-out layer itself only zeroes their rates in feed-forward
    models, so the scorer skips the forward pass there; in CORnet-RT the area feeds itself
    and the scorer must run the model. Both paths must give the lesioned model's rates."""
    from tdsnn_core.models import create_model
    from tdsnn_core.recording import record_rates

    torch.manual_seed(0)
    model = create_model(model_name, v_threshold=0.2).eval()
    layer = model.topographic_layers()[-1].name
    n_units = int(np.prod(model.layer_dims(layer)))
    images = torch.rand(24, 1, 28, 28)
    labels = np.arange(24) % 3
    probes = ProbeSet(images, labels, ("a", "b", "c"))
    scorer = ReadoutScorer.fit(model, probes, layer, batch_size=12)
    units = np.random.default_rng(0).choice(n_units, n_units // 3, replace=False)
    lesioned_rates = record_rates(model, scorer.images, [layer], 12, lesions={layer: units})
    got = scorer.rates({layer: units})
    np.testing.assert_array_equal(got, lesioned_rates[layer])
    assert (got[:, units] == 0).all()
    if model_name == "cornet_rt_mini":  # the silenced units changed the others
        intact = scorer.rates({})
        others = np.setdiff1d(np.arange(n_units), units)
        assert not np.array_equal(got[:, others], intact[:, others])


def test_control_p_is_the_deficits_rank_among_the_random_lesions():
    """20 controls losing 0, 1, ..., 19 points of category 0: a 15.5-point deficit is beaten
    or matched by 4 of them (16-19), so p = (1 + 4) / 21; one above them all gets 1 / 21, and
    a deficit every control matches gets 1."""
    before = np.array([90.0, 80.0])
    lost = np.column_stack([np.arange(20.0), np.zeros(20)])
    effect = LesionEffect(
        "it",
        10,
        before,
        before - np.array([15.5, 30.0]),
        (before - lost).mean(0),
        before - lost,
        np.zeros((2, 2)),
        np.zeros((2, 2)),
    )
    np.testing.assert_allclose(effect.control_p, [5 / 21, 1 / 21])
    effect = LesionEffect(
        "it", 10, before, before, before, before - 0 * lost, *[np.zeros((2, 2))] * 2
    )
    np.testing.assert_allclose(effect.control_p, [1.0, 1.0])
