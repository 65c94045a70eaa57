"""Class names: an ImageFolder run stores its folder names, the service shows them; a
1000-output model without names reports ImageNet's; older checkpoints keep theirs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image

from backend.app import create_app
from backend.settings import Settings
from tdsnn_core.checkpoints import read_metadata, save_checkpoint
from tdsnn_core.config import load_config
from tdsnn_core.data.classes import class_names, imagenet_classes
from tdsnn_core.data.fashion_mnist import CLASSES as FASHION_MNIST_CLASSES
from tdsnn_core.models import create_model
from tdsnn_core.sheets import build_sheets
from tdsnn_core.training import train

FOLDERS = ["bicycle", "cat", "dog", "tree"]
TINY = {"widths": [4, 8, 8, 8], "stem_width": 4, "input_size": 16, "timesteps": 2}
GRATING = {"stimulus": {"orientation_deg": 45.0}, "output": "json", "top_k": 3}


def image_folder(root: Path, per_class: int = 8) -> Path:
    """root/{train,val}/<class>/*.png: random 20 px colour images."""
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for name in FOLDERS:
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(per_class):
                pixels = rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}.png")
    return root


def unnamed_checkpoint(path: Path, num_classes: int) -> None:
    """A checkpoint of a run whose names were never stored (made before they were)."""
    torch.manual_seed(0)
    model = create_model("sresnet_mini", v_threshold=0.25, num_classes=num_classes, **TINY)
    layers = [(t.name, t.area, t.dims, t.downsampling) for t in model.topographic_layers()]
    meta = {"train_config": {"data": {"kind": "imagefolder"}}, "epoch": 1, "metrics": {}}
    save_checkpoint(path, model, build_sheets(layers), meta)


def test_imagenet_names_come_from_torchvision_offline() -> None:
    names = imagenet_classes()
    assert len(names) == 1000 and names[0] == "tench" and names[841] == "sweatshirt"


@pytest.mark.parametrize(
    ("meta", "num_classes", "expected"),
    [
        ({"classes": FOLDERS}, 4, tuple(FOLDERS)),
        ({}, 1000, "imagenet"),
        ({"classes": [f"n{k:08d}" for k in range(1000)]}, 1000, "imagenet"),
        ({"classes": [f"class {k}" for k in range(1000)]}, 1000, "stored"),
        ({"train_config": {"data": {"kind": "fashion_mnist"}}}, 10, FASHION_MNIST_CLASSES),
        (
            {"train_config": {"data": {"kind": "gratings"}}},
            4,
            ("0 deg", "45 deg", "90 deg", "135 deg"),
        ),
        ({"classes": ["a", "b"]}, 3, ("0", "1", "2")),  # names that do not fit are not used
    ],
)
def test_class_names_by_rule(meta: dict, num_classes: int, expected) -> None:
    if expected == "imagenet":
        expected = imagenet_classes()
    elif expected == "stored":
        expected = tuple(meta["classes"])
    assert class_names(meta, num_classes) == expected


def test_image_folder_run_stores_folder_names_and_the_service_returns_them(
    tmp_path: Path,
) -> None:
    root = image_folder(tmp_path / "data")
    out = tmp_path / "run"
    config = load_config(
        None,
        [
            "model.name=sresnet_mini",
            f"model.options={ {**TINY, 'num_classes': 4, 'in_channels': 3} }",
            "data.kind=imagefolder",
            f"data.root={root}",
            "topography.kind=none",
            "optim.epochs=1",
            "optim.batch_size=16",
            f"run.out_dir={out}",
            "run.threads=1",
        ],
    )
    train(config, progress=False)
    assert read_metadata(out / "best.safetensors")["classes"] == FOLDERS

    models = tmp_path / "models"
    models.mkdir()
    (models / "folders.safetensors").write_bytes((out / "best.safetensors").read_bytes())
    unnamed_checkpoint(models / "imagenet.safetensors", 1000)
    settings = Settings(models_dir=models, device="cpu", threads=1)
    with TestClient(create_app(settings)) as client:
        info = client.get("/v1/models/folders").json()
        assert info["classes"] == FOLDERS
        top = client.post("/v1/models/folders/spikes", json=GRATING).json()["prediction"]
        assert len(top["top_k"]) == 3
        assert all(p["label"] == FOLDERS[p["index"]] for p in top["top_k"])

        names = imagenet_classes()
        assert client.get("/v1/models/imagenet").json()["classes"] == list(names)
        top = client.post("/v1/models/imagenet/spikes", json=GRATING).json()["prediction"]
        assert all(p["label"] == names[p["index"]] for p in top["top_k"])
        assert not any(p["label"].isdigit() for p in top["top_k"])
