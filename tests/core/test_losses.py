"""The topographic losses against slow reference implementations and known answers."""

from __future__ import annotations

import numpy as np
import pytest
import reference_losses as ref
import torch

from tdsnn_core.losses import (
    Clusters,
    cluster_extent_mm,
    gather_clusters,
    inverse_distance_targets,
    rate_term,
    sample_clusters,
    spatial_correlation_loss,
    stc_loss,
    timing_term,
    topoloss,
)
from tdsnn_core.models import create_model


def random_spikes(steps: int, batch: int, n: int, seed: int, silent: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rates = rng.uniform(0.05, 0.6, size=n)
    spikes = (rng.uniform(size=(steps, batch, n)) < rates).astype(np.float64)
    spikes[:, :, :silent] = 0.0  # silent units must keep the loss finite
    return spikes


def masked_clusters(
    seed: int, n_units: int = 40, n: int = 12
) -> tuple[np.ndarray, np.ndarray, Clusters]:
    """Spikes [4, 6, n_units], positions and clusters of 12, 7 and 4 real members padded to
    12 (variable-size clusters share a batch)."""
    spikes = random_spikes(4, 6, n_units, seed=seed)
    positions = np.random.default_rng(7).uniform(0, 10, size=(n_units, 2))
    indices = torch.tensor(
        np.array([np.random.default_rng(s).choice(n_units, n, replace=False) for s in range(3)])
    )
    mask = torch.arange(n).unsqueeze(0) < torch.tensor([[n], [7], [4]])
    return spikes, positions, Clusters(torch.where(mask, indices, 0), mask)


def both_terms(
    spikes: torch.Tensor, positions: np.ndarray, clusters: Clusters, window: int, form: str
) -> tuple[torch.Tensor, torch.Tensor]:
    target = inverse_distance_targets(
        torch.from_numpy(positions).to(spikes.dtype)[clusters.indices], clusters.mask
    )
    clustered = gather_clusters(spikes, clusters)
    rate = rate_term(clustered.mean(1), target, clusters.mask, form=form)
    return rate, timing_term(clustered, target, clusters.mask, window, form=form)


@pytest.mark.parametrize("form", ["pairs", "gram"])
@pytest.mark.parametrize("window", [0, 1, 2])
def test_stc_terms_match_reference(window: int, form: str) -> None:
    spikes, positions, clusters = masked_clusters(seed=window)
    rate, timing = both_terms(torch.from_numpy(spikes), positions, clusters, window, form)
    for m in range(3):
        idx = clusters.members(m).numpy()
        assert rate[m].item() == pytest.approx(
            ref.rate_loss(spikes[:, :, idx], positions[idx]), abs=1e-8
        )
        assert timing[m].item() == pytest.approx(
            ref.timing_loss(spikes[:, :, idx], positions[idx], window), abs=1e-8
        )


def test_gram_and_pair_forms_have_the_reference_gradient() -> None:
    """Both forms' gradients equal central differences of the loop reference, per cluster."""
    spikes, positions, clusters = masked_clusters(seed=5)
    s = torch.from_numpy(spikes).requires_grad_()
    grads = {}  # per form: the gradient of each cluster's loss, [3, T, B, N]
    for form in ("pairs", "gram"):
        rate, timing = both_terms(s, positions, clusters, 1, form)
        loss = rate + 2 * timing
        grads[form] = torch.stack(
            [torch.autograd.grad(loss[m], s, retain_graph=True)[0] for m in range(3)]
        )
    torch.testing.assert_close(grads["gram"], grads["pairs"], rtol=1e-9, atol=1e-12)
    rng, h = np.random.default_rng(0), 1e-6
    for m in range(3):
        idx = clusters.members(m).numpy()
        for _ in range(4):
            t, b, i = rng.integers(4), rng.integers(6), rng.integers(len(idx))
            sides = []
            for sign in (1, -1):
                moved = spikes[:, :, idx].copy()
                moved[t, b, i] += sign * h
                sides.append(
                    ref.rate_loss(moved, positions[idx])
                    + 2 * ref.timing_loss(moved, positions[idx], 1)
                )
            numeric = (sides[0] - sides[1]) / (2 * h)
            assert grads["gram"][m, t, b, idx[i]].item() == pytest.approx(numeric, abs=1e-6)


@pytest.mark.parametrize("form", ["pairs", "gram"])
def test_float32_forms_match_float64_with_a_large_shared_response(form: str) -> None:
    """Rates with a large offset and a strong shared signal (r near 1 for every pair): the
    float32 loss, in either form, stays within 1e-4 of the float64 one."""
    rng = np.random.default_rng(3)
    n, batch = 256, 32
    shared = rng.normal(size=(batch, 1))
    responses = 1e3 + shared + 0.05 * rng.normal(size=(batch, n))  # r about 0.998
    positions = torch.from_numpy(rng.uniform(0, 3, size=(1, n, 2)))
    mask = torch.ones(1, n, dtype=torch.bool)
    mask[0, -40:] = False  # a masked tail
    values = torch.from_numpy(responses).unsqueeze(0) * mask.unsqueeze(1)
    exact = rate_term(values, inverse_distance_targets(positions, mask), mask, form="pairs")
    target = inverse_distance_targets(positions.float(), mask)
    got = rate_term(values.float(), target, mask, form=form)
    assert got.item() == pytest.approx(exact.item(), abs=1e-4)


def test_the_cheaper_form_is_picked_by_operation_count() -> None:
    from tdsnn_core.losses.correlation import cheaper_form, pearson_cost

    assert cheaper_form(16, 4, 32) == "pairs"  # the (T B)^2 Gram dwarfs 16 x 16 pairs
    assert cheaper_form(256, 1, 32) == "gram"  # rates: a 32 x 32 Gram against 256 x 256 pairs
    assert cheaper_form(1024, 4, 32) == "gram"
    for n in (16, 256, 1024):
        assert pearson_cost("gram", n, 4, 32) > pearson_cost("gram", n, 1, 32)


def test_stc_total_is_weighted_mean_over_clusters_summed_over_layers() -> None:
    rng = np.random.default_rng(0)
    spikes = {
        name: torch.from_numpy(random_spikes(4, 5, 30, seed=i)) for i, name in enumerate(["a", "b"])
    }
    positions = {name: torch.from_numpy(rng.uniform(0, 5, size=(30, 2))) for name in spikes}
    widths = {"a": 2.0, "b": 3.0}
    parts = stc_loss(
        spikes,
        positions,
        widths,
        alpha=2.0,
        beta=3.0,
        clusters_per_layer=4,
        cluster_size=10,
        window=1,
        generator=torch.Generator().manual_seed(3),
    )
    gen = torch.Generator().manual_seed(3)
    rate_sum = timing_sum = 0.0
    for name in spikes:
        clusters = sample_clusters(positions[name], widths[name], 10, 4, gen)
        members = [clusters.members(m).numpy() for m in range(4)]
        members = [c for c in members if len(c) >= 3]
        assert members, "the test needs clusters of at least 3 units"
        for cluster in members:
            s, p = spikes[name].numpy()[:, :, cluster], positions[name].numpy()[cluster]
            rate_sum += ref.rate_loss(s, p) / len(members)
            timing_sum += ref.timing_loss(s, p, 1) / len(members)
    assert parts.rate.item() == pytest.approx(rate_sum, abs=1e-5)
    assert parts.timing.item() == pytest.approx(timing_sum, abs=1e-5)
    assert parts.total.item() == pytest.approx(2 * rate_sum + 3 * timing_sum, abs=1e-4)


def test_a_layer_without_a_cluster_of_3_units_adds_nothing_and_gets_no_gradient() -> None:
    """Layer "c"'s 0.01 mm squares never hold 3 of its units: the loss equals the loss of
    the other layer alone, and c's spikes are never gathered (no gradient reaches them)."""
    rng = np.random.default_rng(1)
    spikes = {
        name: torch.from_numpy(random_spikes(4, 5, 30, seed=i)).requires_grad_()
        for i, name in enumerate(["a", "c"])
    }
    positions = {name: torch.from_numpy(rng.uniform(0, 5, size=(30, 2))) for name in spikes}
    widths = {"a": 2.0, "c": 0.01}
    options = {"alpha": 1.0, "beta": 1.0, "clusters_per_layer": 4, "cluster_size": 10}

    def seeded() -> torch.Generator:
        return torch.Generator().manual_seed(0)

    both = stc_loss(spikes, positions, widths, **options, generator=seeded())
    both.total.backward()
    alone = stc_loss(
        {"a": spikes["a"]}, {"a": positions["a"]}, widths, **options, generator=seeded()
    )
    assert both.total.item() == alone.total.item() > 0
    assert spikes["a"].grad.abs().sum() > 0 and spikes["c"].grad is None


def smooth_map_spikes(positions: np.ndarray, steps: int, batch: int, seed: int) -> np.ndarray:
    """Spikes whose rates follow a smooth function of position (a 'topographic' response)."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 20, size=(batch, 2))
    dist = np.linalg.norm(positions[None] - centres[:, None], axis=-1)  # [B, n]
    rates = 0.9 * np.exp(-(dist**2) / (2 * 4.0**2))
    return (rng.uniform(size=(steps, batch, len(positions))) < rates[None]).astype(np.float64)


def test_smooth_map_has_lower_loss_than_shuffled() -> None:
    rng = np.random.default_rng(1)
    positions = rng.uniform(0, 20, size=(300, 2))
    spikes = torch.from_numpy(smooth_map_spikes(positions, 4, 64, seed=2))
    shuffled = spikes[:, :, torch.from_numpy(rng.permutation(300))]
    pos = {"l": torch.from_numpy(positions)}
    kwargs = dict(alpha=1.0, beta=1.0, clusters_per_layer=8, cluster_size=100, window=1)
    smooth = stc_loss(
        {"l": spikes}, pos, {"l": 8.0}, generator=torch.Generator().manual_seed(0), **kwargs
    )
    mixed = stc_loss(
        {"l": shuffled}, pos, {"l": 8.0}, generator=torch.Generator().manual_seed(0), **kwargs
    )
    assert smooth.rate < mixed.rate - 0.1
    assert smooth.timing < mixed.timing - 0.1


def test_gradient_reaches_weights_through_surrogate() -> None:
    torch.manual_seed(0)
    model = create_model("sresnet_mini", widths=[4, 8, 8, 8], stem_width=4, input_size=16)
    out = model(torch.rand(8, 1, 16, 16), return_spikes=True)
    layer = model.topographic_layers()[2]
    positions = {layer.name: torch.rand(int(np.prod(layer.dims)), 2) * 10}
    parts = stc_loss(
        out.spikes,
        positions,
        {layer.name: 2.0},
        alpha=1.0,
        beta=1.0,
        clusters_per_layer=3,
        cluster_size=64,
    )
    parts.total.backward()
    grad = model.stem[0].weight.grad
    assert torch.isfinite(parts.total) and torch.isfinite(grad).all()
    assert grad.abs().sum() > 0


def test_all_silent_layer_gives_finite_loss_and_gradient() -> None:
    spikes = torch.zeros(4, 8, 50, requires_grad=True)
    parts = stc_loss(
        {"l": spikes},
        {"l": torch.rand(50, 2)},
        {"l": 0.5},
        alpha=1.0,
        beta=1.0,
        clusters_per_layer=2,
        cluster_size=20,
    )
    parts.total.backward()
    assert torch.isfinite(parts.total) and torch.isfinite(spikes.grad).all()


def test_spatial_correlation_loss_matches_reference_on_activations() -> None:
    rng = np.random.default_rng(4)
    acts = rng.normal(size=(16, 25))
    positions = rng.uniform(0, 3, size=(25, 2))
    gen = torch.Generator().manual_seed(1)
    parts = spatial_correlation_loss(
        {"l": torch.from_numpy(acts)},
        {"l": torch.from_numpy(positions)},
        {"l": 1.0},
        weight=2.0,
        clusters_per_layer=2,
        cluster_size=9,
        generator=gen,
    )
    clusters = sample_clusters(
        torch.from_numpy(positions), 1.0, 9, 2, torch.Generator().manual_seed(1)
    )
    members = [clusters.members(m).numpy() for m in range(2)]
    # the rate reference averages over time: give it one timestep holding the activations
    expected = np.mean([ref.rate_loss(acts[None][:, :, c], positions[c]) for c in members])
    assert parts.rate.item() == pytest.approx(expected, abs=1e-5)
    assert parts.total.item() == pytest.approx(2 * expected, abs=1e-5)


@pytest.mark.parametrize(("c_out", "factor"), [(16, 2.0), (32, 2.0), (36, 3.0)])
def test_topoloss_matches_reference(c_out: int, factor: float) -> None:
    weight = np.random.default_rng(c_out).normal(size=(c_out, 3, 3, 3))
    got = topoloss(torch.from_numpy(weight), factor).item()
    assert got == pytest.approx(ref.topoloss(weight, factor), abs=1e-5)


def test_topoloss_is_lower_for_smooth_weights_and_has_gradient() -> None:
    rows, cols = np.meshgrid(np.arange(8), np.arange(8), indexing="ij")
    basis = np.random.default_rng(0).normal(size=(2, 9))
    smooth = np.cos(rows / 3.0)[..., None] * basis[0] + np.sin(cols / 3.0)[..., None] * basis[1]
    smooth = torch.tensor(smooth.reshape(64, 9), requires_grad=True)
    shuffled = smooth.detach()[torch.randperm(64, generator=torch.Generator().manual_seed(0))]
    loss = topoloss(smooth, 2.0)
    assert loss < topoloss(shuffled, 2.0) - 0.1
    loss.backward()
    assert torch.isfinite(smooth.grad).all() and smooth.grad.abs().sum() > 0


def test_clusters_are_the_units_of_a_square_of_the_width_never_wider() -> None:
    positions = torch.tensor(np.random.default_rng(0).uniform(0, 10, size=(2000, 2)))
    dense = sample_clusters(positions, 2.0, 20, 5, torch.Generator().manual_seed(0))
    assert dense.indices.shape == (5, 20) and dense.mask.all()  # 80 units per square: subset
    for m in range(5):
        members = dense.members(m)
        assert len(set(members.tolist())) == 20
    assert (cluster_extent_mm(positions, dense) <= 2.0 + 1e-9).all()
    # a sparse square keeps only its own units: fewer than the size, masked, not topped up
    sparse = sample_clusters(positions, 0.5, 256, 200, torch.Generator().manual_seed(1))
    assert sparse.indices.shape[1] < 256 and not sparse.mask.all()
    assert (cluster_extent_mm(positions, sparse) <= 0.5 + 1e-9).all()
    sizes = sparse.sizes.double()
    assert sizes.mean().item() == pytest.approx(2000 * 0.25 / 100, rel=0.15)  # 5 per square
    with pytest.raises(ValueError, match="at least 3 units"):
        sample_clusters(positions, 1.0, 2, 1)


def test_a_square_with_more_units_than_the_size_keeps_a_uniform_subset() -> None:
    """Every unit of 100 lies in every square (width twice the sheet); 2,000 clusters of 20
    include each unit Binomial(2000, 0.2) times: 400 +- 18, never a fixed 20."""
    positions = torch.tensor(np.random.default_rng(3).uniform(0, 5, size=(100, 2)))
    clusters = sample_clusters(positions, 10.0, 20, 2000, torch.Generator().manual_seed(0))
    assert clusters.mask.all()
    counts = np.bincount(clusters.indices.flatten().numpy(), minlength=100)
    assert np.abs(counts - 400).max() < 5 * 18


def test_cluster_centres_are_uniform_on_the_sheet_not_on_units() -> None:
    """Units piled on one edge must not pull the centres there (TDANN's rule)."""
    rng = np.random.default_rng(2)
    piled = np.column_stack([np.zeros(900), rng.uniform(0, 10, 900)])
    spread = rng.uniform(0, 10, size=(100, 2))
    positions = torch.tensor(np.vstack([piled, spread]))
    clusters = sample_clusters(positions, 1.0, 500, 400, torch.Generator().manual_seed(0))
    touches_edge = [(positions[clusters.members(m), 0] == 0).any() for m in range(400)]
    # a centre within 0.5 mm of x = 0 happens with probability 0.05, not 0.9
    assert np.mean(touches_edge) < 0.12


def test_bundled_sized_layers_clusters_stay_within_the_width() -> None:
    """At the cluster size users run (128-256) on a realistic sheet, no cluster is wider."""
    from tdsnn_core.models import create_model
    from tdsnn_core.sheets import build_sheets

    model = create_model("sresnet18")
    layers = [(t.name, t.area, t.dims, t.downsampling) for t in model.topographic_layers()]
    for name, sheet in build_sheets(layers).items():
        clusters = sample_clusters(
            torch.from_numpy(sheet.positions),
            sheet.neighborhood_width_mm,
            256,
            10,
            torch.Generator().manual_seed(0),
        )
        extent = cluster_extent_mm(torch.from_numpy(sheet.positions), clusters)
        assert (extent <= sheet.neighborhood_width_mm + 1e-6).all(), name


def correlated_spikes(n: int, steps: int, batch: int, seed: int) -> tuple[torch.Tensor, ...]:
    """Spikes [T, B, n] driven by a smooth map of position plus shared timing, and the
    positions [n, 2] (float32)."""
    rng = np.random.default_rng(seed)
    positions = rng.uniform(0, 4, size=(n, 2))
    drive = np.sin(positions[:, 0])[None, None] + rng.normal(size=(steps, batch, 1))
    return torch.from_numpy(
        (rng.uniform(size=(steps, batch, n)) < 1 / (1 + np.exp(-2 * drive))).astype(np.float32)
    ), torch.from_numpy(positions.astype(np.float32))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_stc_under_low_precision_autocast_matches_float32(dtype: torch.dtype) -> None:
    """The one-pass variance returned L_S = -254,974 under bf16 autocast (fp32: 0.437)."""
    spikes, positions = correlated_spikes(400, 4, 32, seed=0)
    kwargs = dict(alpha=1.0, beta=1.0, clusters_per_layer=6, cluster_size=256, window=1)

    def loss(s: torch.Tensor) -> object:
        gen = torch.Generator().manual_seed(0)
        return stc_loss({"l": s}, {"l": positions}, {"l": 2.0}, generator=gen, **kwargs)

    exact = loss(spikes)
    with torch.autocast("cpu", dtype=dtype):
        low = loss(spikes.to(dtype))
    for part in ("rate", "timing"):
        got, want = getattr(low, part).item(), getattr(exact, part).item()
        assert 0 <= want <= 1 and got == pytest.approx(want, abs=1e-4), part


def test_centred_variance_survives_a_large_common_offset() -> None:
    """Pair values sitting near 1 with a tiny spread: a one-pass variance cancels to 0 or
    below in float32 and the Pearson blows up; the centred one keeps it in [-1, 1]. Any
    symmetric pairs P are a factor's: x = I (T = n steps of one image) with the kernel P."""
    from tdsnn_core.losses import PairFactor, pearson_with_pairs

    rng = np.random.default_rng(0)
    n = 64
    positions = torch.tensor(rng.uniform(0, 3, size=(1, n, 2)), dtype=torch.float32)
    mask = torch.ones(1, n, dtype=torch.bool)
    mask[0, -8:] = False  # a padded tail: zero rows of x
    target = inverse_distance_targets(positions, mask)
    noise = torch.tensor(rng.normal(scale=1e-4, size=(n, n)), dtype=torch.float32)
    pairs = 1.0 + (noise + noise.T) / 2 + 1e-3 * target[0]
    x = torch.eye(n).view(1, n, 1, n) * mask.view(1, 1, 1, n)
    r = pearson_with_pairs(PairFactor(x, pairs), target, mask, "pairs")
    exact = pearson_with_pairs(PairFactor(x.double(), pairs.double()), target.double(), mask)
    assert -1 <= r.item() <= 1 and r.item() == pytest.approx(exact.item(), abs=1e-3)
