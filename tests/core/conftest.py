"""Shared fixtures: a tiny training config on generated gratings (seconds per epoch on CPU)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

TINY = {
    "model": {
        "name": "sresnet_mini",
        "options": {
            "widths": [4, 8, 8, 8],
            "stem_width": 4,
            "input_size": 16,
            "timesteps": 2,
            "num_classes": 4,
        },
    },
    "data": {"kind": "gratings", "train_subset": 96, "eval_subset": 32},
    "topography": {
        "kind": "stc",
        "alpha": 0.5,
        "beta": 0.5,
        "clusters_per_layer": 2,
        "cluster_size": 16,
        "layers": ["layer2.0", "layer4.1"],
        "neighborhood_scale": 8.0,  # a 128-unit V1 holds ~0.2 units per 1.6 mm square
    },
    "optim": {"epochs": 2, "batch_size": 16, "lr": 0.003},
    "run": {"seed": 0, "threads": 1},
}


@pytest.fixture
def tiny_config(tmp_path: Path):
    """Write the tiny config (with nested overrides) to a file; returns its path."""

    def make(out_dir: Path | None = None, **sections) -> Path:
        config = {k: dict(v) for k, v in TINY.items()}
        for section, values in sections.items():
            config.setdefault(section, {}).update(values)
        config["run"]["out_dir"] = str(out_dir or tmp_path / "run")
        path = tmp_path / f"config_{len(list(tmp_path.glob('config_*')))}.yaml"
        path.write_text(yaml.safe_dump(config))
        return path

    return make


@pytest.fixture
def torchrun():
    """Run ``tdsnn train --config PATH`` under torchrun with ``nproc`` processes."""

    def launch(config: Path, nproc: int, env: dict[str, str]) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                   f"--nproc_per_node={nproc}", "-m", "tdsnn_core.cli", "train", "--config",
                   str(config), "--no-progress"]  # fmt: skip
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)

    return launch
