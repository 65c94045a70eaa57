"""The topographic losses against slow reference implementations and known answers."""

from __future__ import annotations

import numpy as np
import pytest
import reference_losses as ref
import torch

from tdsnn_core.losses import (
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


@pytest.mark.parametrize("window", [0, 1, 2])
def test_stc_terms_match_reference(window: int) -> None:
    steps, batch, n_units, n = 4, 6, 40, 12
    spikes = random_spikes(steps, batch, n_units, seed=window)
    positions = np.random.default_rng(7).uniform(0, 10, size=(n_units, 2))
    clusters = torch.tensor(
        np.array([np.random.default_rng(s).choice(n_units, n, replace=False) for s in range(3)])
    )
    s = torch.from_numpy(spikes)
    target = inverse_distance_targets(torch.from_numpy(positions)[clusters])
    clustered = gather_clusters(s, clusters)
    rate = rate_term(clustered.mean(1), target)
    timing = timing_term(clustered, target, window)
    for m, idx in enumerate(clusters.numpy()):
        assert rate[m].item() == pytest.approx(
            ref.rate_loss(spikes[:, :, idx], positions[idx]), abs=1e-5
        )
        assert timing[m].item() == pytest.approx(
            ref.timing_loss(spikes[:, :, idx], positions[idx], window), abs=1e-5
        )


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
        idx = sample_clusters(positions[name], widths[name], 10, 4, gen)
        for cluster in idx.numpy():
            s, p = spikes[name].numpy()[:, :, cluster], positions[name].numpy()[cluster]
            rate_sum += ref.rate_loss(s, p)
            timing_sum += ref.timing_loss(s, p, 1)
    assert parts.rate.item() == pytest.approx(rate_sum / 4, abs=1e-5)
    assert parts.timing.item() == pytest.approx(timing_sum / 4, abs=1e-5)
    assert parts.total.item() == pytest.approx(2 * rate_sum / 4 + 3 * timing_sum / 4, abs=1e-4)


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
    idx = sample_clusters(
        torch.from_numpy(positions), 1.0, 9, 2, torch.Generator().manual_seed(1)
    ).numpy()
    # the rate reference averages over time: give it one timestep holding the activations
    expected = np.mean([ref.rate_loss(acts[None][:, :, c], positions[c]) for c in idx])
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


def test_clusters_take_units_inside_the_square_first() -> None:
    positions = torch.tensor(np.random.default_rng(0).uniform(0, 10, size=(2000, 2)))
    idx = sample_clusters(positions, 2.0, 20, 5, torch.Generator().manual_seed(0))
    assert idx.shape == (5, 20)
    for cluster in idx:
        spread = positions[cluster].amax(0) - positions[cluster].amin(0)
        assert (spread <= 2.0 + 1e-9).all()
        assert len(set(cluster.tolist())) == 20
    with pytest.raises(ValueError, match="at least 3 units"):
        sample_clusters(positions[:2], 1.0, 10, 1)
