"""Position pre-optimisation: the swap gain formula, the optimiser and the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import reference_losses as ref

from tdsnn_core.cli import main
from tdsnn_core.config import load_config
from tdsnn_core.sheets import load_sheets
from tdsnn_core.sheets.swap_optimize import (
    SwapSettings,
    correlation_matrix,
    optimize_positions,
    spatial_loss,
    swap_neighbourhood,
)
from tdsnn_core.training import train


def smooth_responses(true_positions: np.ndarray, n_stimuli: int, seed: int) -> np.ndarray:
    """Responses that are a smooth function of each unit's *true* position."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 10, size=(n_stimuli, 2))
    dist = np.linalg.norm(true_positions[None] - centres[:, None], axis=-1)
    return np.exp(-(dist**2) / (2 * 2.0**2)) + 0.05 * rng.normal(size=dist.shape)


def test_spatial_loss_matches_reference() -> None:
    rng = np.random.default_rng(0)
    responses, positions = rng.uniform(size=(10, 15)), rng.uniform(0, 5, size=(15, 2))
    # the reference's rate loss correlates over axis 1 of [T, B, n]: one timestep, B = stimuli
    assert spatial_loss(responses, positions) == pytest.approx(
        ref.rate_loss(responses[None], positions, eps=0.0), abs=1e-9
    )


def test_each_accepted_swap_lowers_the_loss_by_the_predicted_amount() -> None:
    rng = np.random.default_rng(1)
    positions = rng.uniform(0, 10, size=(40, 2))
    responses = smooth_responses(rng.permutation(positions), 30, seed=2)
    loss = spatial_loss(responses, positions)
    for round_seed in range(5):
        new, swaps = swap_neighbourhood(
            correlation_matrix(responses),
            positions,
            rounds=1,
            candidates=30,
            rng=np.random.default_rng(round_seed),
        )
        new_loss = spatial_loss(responses, new)
        if swaps:
            assert new_loss < loss  # the closed-form gain was positive, so the loss fell
            assert sorted(map(tuple, new)) == sorted(map(tuple, positions))  # a permutation
        else:
            assert new_loss == pytest.approx(loss)
        positions, loss = new, new_loss


def test_optimizer_recovers_topography_from_scrambled_positions() -> None:
    rng = np.random.default_rng(3)
    true_positions = rng.uniform(0, 10, size=(300, 2))
    responses = smooth_responses(true_positions, 40, seed=4)
    scrambled = true_positions[rng.permutation(300)]
    result = optimize_positions(
        responses,
        scrambled,
        width_mm=4.0,
        settings=SwapSettings(
            neighborhoods=150, max_units=80, rounds=20, candidates=30, eval_neighborhoods=30
        ),
        progress=False,
    )
    assert result.swaps > 0
    assert result.loss_after < result.loss_before - 0.05
    np.testing.assert_allclose(
        np.sort(result.positions, axis=0), np.sort(scrambled.astype(np.float32), axis=0)
    )  # a permutation


def test_a_tether_keeps_every_unit_near_its_start() -> None:
    """Untethered, scrambled units travel back across the sheet; tethered to 1 mm, none
    ends further than 1 mm from where it started, and the swaps still lower the loss."""
    rng = np.random.default_rng(3)
    true_positions = rng.uniform(0, 10, size=(300, 2))
    responses = smooth_responses(true_positions, 40, seed=4)
    scrambled = true_positions[rng.permutation(300)]
    settings = {"neighborhoods": 150, "max_units": 80, "rounds": 20, "candidates": 30}
    free = optimize_positions(
        responses, scrambled, width_mm=4.0, settings=SwapSettings(**settings), progress=False
    )
    tethered = optimize_positions(
        responses,
        scrambled,
        width_mm=4.0,
        settings=SwapSettings(**settings, tether_mm=1.0),
        progress=False,
    )
    assert np.linalg.norm(free.positions - scrambled, axis=1).max() > 3.0
    assert np.linalg.norm(tethered.positions - scrambled, axis=1).max() <= 1.0 + 1e-5
    assert tethered.swaps > 0 and tethered.loss_after < tethered.loss_before


def test_positions_optimize_command(tiny_config, tmp_path: Path, capsys) -> None:
    config = load_config(
        tiny_config(
            optim={"epochs": 1},
            topography={"kind": "none"},
            model={"options": {**load_config(tiny_config()).model.options, "v_threshold": 0.3}},
        )
    )
    train(config, progress=False)
    out = tmp_path / "positions.safetensors"
    code = main(
        [
            "positions",
            "optimize",
            f"{config.run.out_dir}/last.safetensors",
            "--out",
            str(out),
            "--layers",
            "layer4.1",
            "--neighborhoods",
            "100",
            "--max-units",
            "60",
            "--width-scale",
            "0.5",
        ]
    )
    assert code == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("layer4.1"))
    before, after = (float(v) for v in line.split("spatial loss ")[1].split(" (")[0].split(" -> "))
    assert after < before
    sheets = load_sheets(out)
    trained = load_sheets(f"{config.run.out_dir}/last.safetensors")
    assert not np.array_equal(sheets["layer4.1"].positions, trained["layer4.1"].positions)
    np.testing.assert_array_equal(sheets["layer2.0"].positions, trained["layer2.0"].positions)
    tethered = tmp_path / "tethered.safetensors"
    args = ["--layers", "layer4.1", "--neighborhoods", "100", "--max-units", "60", "--tether"]
    checkpoint = f"{config.run.out_dir}/last.safetensors"
    assert main(["positions", "optimize", checkpoint, "--out", str(tethered), *args, "0.25"]) == 0
    sheet = trained["layer4.1"]
    moved = np.linalg.norm(load_sheets(tethered)["layer4.1"].positions - sheet.positions, axis=1)
    assert 0 < moved.max() <= 0.25 * sheet.size_mm / max(sheet.dims[1:]) + 1e-5
    resumed = load_config(
        tiny_config(tmp_path / "stc", optim={"epochs": 1}, topography={"positions": str(out)})
    )
    train(resumed, progress=False)
    final = load_sheets(tmp_path / "stc" / "last.safetensors")
    np.testing.assert_array_equal(final["layer4.1"].positions, sheets["layer4.1"].positions)
