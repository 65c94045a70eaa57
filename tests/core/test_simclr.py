"""SimCLR (``objective.kind: simclr``): the NT-Xent loss against a slow reference and an
analytic value, the readout as a detached linear probe, and training end to end."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from safetensors.torch import load_file

from tdsnn_core.checkpoints import CheckpointError, read_metadata
from tdsnn_core.config import ConfigError, load_config
from tdsnn_core.losses.simclr import nt_xent, partner_indices
from tdsnn_core.models import create_model
from tdsnn_core.training import train
from tdsnn_core.training.distributed import DistContext, gather_views


def slow_nt_xent(z: np.ndarray, temperature: float) -> float:
    """NT-Xent written out view by view, in float64."""
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    losses = []
    for i in range(len(z)):
        partner = i + 1 if i % 2 == 0 else i - 1
        others = [j for j in range(len(z)) if j != i]
        denominator = sum(math.exp(z[i] @ z[j] / temperature) for j in others)
        losses.append(-math.log(math.exp(z[i] @ z[partner] / temperature) / denominator))
    return float(np.mean(losses))


@pytest.mark.parametrize("temperature", [0.1, 0.5, 2.0])
def test_nt_xent_matches_a_view_by_view_reference(temperature: float) -> None:
    z = torch.randn(24, 16, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    expected = slow_nt_xent(z.numpy(), temperature)
    assert nt_xent(z.float(), temperature).item() == pytest.approx(expected, rel=1e-5)


def test_nt_xent_of_matching_views_and_orthogonal_images_is_analytic() -> None:
    """Partners identical, different images orthogonal: every view's partner scores 1 / tau
    and its 2B - 2 other views 0."""
    images, tau = 6, 0.2
    z = torch.eye(images).repeat_interleave(2, dim=0) * 3.0  # norms do not matter
    expected = -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + 2 * images - 2))
    assert nt_xent(z, tau).item() == pytest.approx(expected, rel=1e-6)
    swapped = z[partner_indices(2 * images)]  # each view's partner in its place: same loss
    assert nt_xent(swapped, tau).item() == pytest.approx(expected, rel=1e-6)


def test_nt_xent_refuses_unpaired_views_and_a_bad_temperature() -> None:
    with pytest.raises(ValueError, match="two views per image"):
        nt_xent(torch.randn(5, 3), 0.1)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        nt_xent(torch.randn(4, 3), 0.0)


def test_a_detached_readout_trains_as_a_probe_of_the_network() -> None:
    """With ``detach_readout`` the logits' loss reaches the readout and nothing else; the
    features still carry the network's gradient for the self-supervised loss."""
    torch.manual_seed(0)
    model = create_model(
        "sresnet_mini", widths=[4, 8, 8, 8], stem_width=4, input_size=16, timesteps=2,
        num_classes=3,
    )  # fmt: skip
    images, labels = torch.rand(4, 1, 16, 16), torch.tensor([0, 1, 2, 0])
    out = model(images, return_spikes=True, detach_readout=True)
    F.cross_entropy(out.logits, labels).backward()
    readout = model.get_submodule(model.readout_name)
    trained = {name for name, p in model.named_parameters() if p.grad is not None}
    assert trained == {f"{model.readout_name}.{name}" for name, _ in readout.named_parameters()}
    out.features.square().sum().backward()  # the self-supervised path reaches the network
    assert sum(p.grad is not None for p in model.parameters()) > len(trained)
    attached = model(images)
    torch.testing.assert_close(attached, out.logits)  # same logits either way


def image_folder(root: Path, per_class: int = 12) -> Path:
    """Two classes of grey images, stripes and rings, each image its own spatial frequency
    and mean brightness (what tells one image from another under crops and rotations)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[-20:20, -20:20]
    for split, count in (("train", per_class), ("val", 4)):
        for label, name in enumerate(("stripes", "rings")):
            (root / split / name).mkdir(parents=True, exist_ok=True)
            for i in range(count):
                frequency, level = rng.uniform(0.2, 1.2), rng.uniform(60, 190)
                phase = xx if label == 0 else np.hypot(xx, yy)
                pixels = (level + 60 * np.sin(frequency * phase)).clip(0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(root / split / name / f"{i}.png")
    return root


def simclr_config(tiny_config, tmp_path: Path, epochs: int, per_class: int = 12, **sections):
    """The tiny config at 32 px and T = 4 (at 16 px and T = 2 each feature is one binary spike,
    too coarse to tell images apart), trained by SimCLR on :func:`image_folder`."""
    data = {"kind": "imagefolder", "root": str(image_folder(tmp_path / "images", per_class)),
            "augment": True, "rotate": True, "crop_scale": [0.4, 1.0]}  # fmt: skip
    options = {"widths": [8, 16, 16, 32], "stem_width": 8, "input_size": 32, "timesteps": 4,
               "num_classes": 2, "in_channels": 1}  # fmt: skip
    return tiny_config(
        tmp_path / "simclr",
        model={"options": options},
        data=data,
        objective={"kind": "simclr", "temperature": 0.5, "projection_dim": 8},
        optim={"epochs": epochs, "batch_size": 8, **sections.pop("optim", {})},
        **sections,
    )


def test_simclr_trains_with_stc_saves_its_head_and_resumes(tiny_config, tmp_path: Path) -> None:
    config = load_config(simclr_config(tiny_config, tmp_path, epochs=1))
    first = train(config, progress=False)
    out = Path(config.run.out_dir)
    assert math.isfinite(first["train_task_loss"]) and first["train_timing_loss"] > 0
    assert 0 <= first["eval_top1"] <= 100
    last = load_file(str(out / "last.safetensors"))
    head = {k: v for k, v in last.items() if k.startswith("training.projection_head.")}
    prefix = "training.projection_head.mlp."
    assert {k: tuple(v.shape) for k, v in head.items()} == {
        f"{prefix}0.weight": (32, 32), f"{prefix}0.bias": (32,),  # features: the last width
        f"{prefix}2.weight": (8, 32), f"{prefix}2.bias": (8,),  # projection_dim 8
    }  # fmt: skip
    assert not any(k.startswith("training.") for k in load_file(str(out / "best.safetensors")))
    train(load_config(simclr_config(tiny_config, tmp_path, epochs=2)), resume=True, progress=False)
    assert read_metadata(out / "last.safetensors")["epoch"] == 2
    after = load_file(str(out / "last.safetensors"))
    assert any(not torch.equal(head[k], after[k]) for k in head)  # the head went on training


def test_simclr_teaches_the_network_to_match_two_views_of_an_image(tiny_config, tmp_path) -> None:
    """NT-Xent over 16 views starts at chance, log 15 (plus the probe's log 2), and falls as the
    network learns what tells each image from the others under crops and rotations."""
    config = simclr_config(tiny_config, tmp_path, epochs=12, per_class=32,
                           topography={"kind": "none"})  # fmt: skip
    train(load_config(config), progress=False)
    lines = (tmp_path / "simclr" / "metrics.jsonl").read_text().splitlines()
    losses = [json.loads(line)["train_task_loss"] for line in lines]
    assert losses[0] == pytest.approx(math.log(15) + math.log(2), abs=0.15)
    assert losses[-1] < losses[0] - 0.4


def test_supervised_simclr_adds_weighted_nt_xent_to_the_cross_entropy(
    tiny_config, tmp_path
) -> None:
    """``supervised_simclr`` at lr 0 (nothing moves): the task loss is the untrained network's
    cross-entropy over 2 classes, log 2, plus the weight times NT-Xent at chance, log 15."""
    weight = 0.25
    still = simclr_config(tiny_config, tmp_path, epochs=1, topography={"kind": "none"},
                          optim={"lr": 0.0})  # fmt: skip
    train(load_config(still, [f"objective.simclr_weight={weight}",
                              "objective.kind=supervised_simclr"]), progress=False)  # fmt: skip
    line = json.loads((tmp_path / "simclr" / "metrics.jsonl").read_text().splitlines()[0])
    assert line["train_task_loss"] == pytest.approx(math.log(2) + weight * math.log(15), abs=0.05)


def test_simclr_without_augmentation_or_head_is_a_clear_error(tiny_config, tmp_path) -> None:
    for kind in ("simclr", "supervised_simclr"):
        with pytest.raises(ConfigError, match=f"{kind} needs data.augment"):
            load_config(tiny_config(), [f"objective.kind={kind}"])
    with pytest.raises(ConfigError, match="simclr_weight must be > 0"):
        load_config(tiny_config(data={"augment": True}), ["objective.simclr_weight=0"])
    with pytest.raises(ConfigError, match="objective.kind"):
        load_config(tiny_config(), ["objective.kind=byol"])
    supervised = load_config(tiny_config(tmp_path / "plain", optim={"epochs": 1}))
    train(supervised, progress=False)
    switched = load_config(
        tiny_config(tmp_path / "plain", optim={"epochs": 2}, data={"augment": True}),
        ["objective.kind=simclr"],
    )
    with pytest.raises(CheckpointError, match="projection_head.*another objective"):
        train(switched, resume=True, progress=False)


def test_simclr_under_torchrun_syncs_its_head(tiny_config, torchrun, tmp_path: Path) -> None:
    """Two gloo processes: the projection head is wrapped for gradient sync like the model,
    and saved unwrapped (its keys as in one process)."""
    config = simclr_config(tiny_config, tmp_path, epochs=1)
    result = torchrun(config, 2, {**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "simclr"
    assert read_metadata(out / "last.safetensors")["world_size"] == 2
    keys = {k for k in load_file(str(out / "last.safetensors")) if k.startswith("training.")}
    assert keys == {
        f"training.projection_head.mlp.{i}.{p}" for i in (0, 2) for p in ("weight", "bias")
    }


def _gathered_nt_xent_gradient(rank: int, world: int, rendezvous: str, x, weight, out: str):
    """One process of :func:`test_gathered_views_give_the_one_process_gradient`."""
    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank,
                            world_size=world)  # fmt: skip
    layer = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=False)
    layer.weight.data.copy_(weight)
    net = torch.nn.parallel.DistributedDataParallel(layer)
    ctx = DistContext(rank, world, rank, torch.device("cpu"))
    nt_xent(gather_views(net(x.chunk(world)[rank]), ctx), 0.5).backward()
    if rank == 0:
        np.save(out, layer.weight.grad.numpy())
    dist.destroy_process_group()


def test_gathered_views_give_the_one_process_gradient(tmp_path: Path) -> None:
    """Two gloo processes, each with half of 16 interleaved views through a DDP layer: NT-Xent
    over the views gathered from both has the gradient of one process on all 16 (each view's
    negatives are all 14 others), not that of two separate halves (6 negatives each)."""
    generator = torch.Generator().manual_seed(5)
    x, weight = torch.randn(16, 6, generator=generator), torch.randn(4, 6, generator=generator)
    out = tmp_path / "grad.npy"
    mp.spawn(_gathered_nt_xent_gradient, args=(2, str(tmp_path / "rendezvous"), x, weight,
                                               str(out)), nprocs=2)  # fmt: skip
    whole = weight.clone().requires_grad_()
    nt_xent(x @ whole.T, 0.5).backward()
    halves = weight.clone().requires_grad_()
    sum(nt_xent(part @ halves.T, 0.5) for part in x.chunk(2)).div(2).backward()
    gathered = torch.from_numpy(np.load(out))
    torch.testing.assert_close(gathered, whole.grad, rtol=1e-5, atol=1e-6)
    assert (halves.grad - whole.grad).norm() > 0.05 * whole.grad.norm()  # the test can tell
