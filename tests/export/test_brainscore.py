"""``tdsnn export brainscore``: the plugin folder's layout, its weights, and its network run
through this project's own API (regions, timesteps, tissue coordinates).

Brain-Score itself is not installed here (it pins numpy<2): ``make brainscore-test`` runs the
exported plugin's own test under real brainscore-vision in ``.venv-brainscore``.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from tdsnn_core.checkpoints import load_checkpoint
from tdsnn_core.cli import main
from tdsnn_core.export.brainscore import REQUIREMENTS, region_layer_map, time_mapping
from tdsnn_core.recording import record_spikes
from tdsnn_core.storage import read_safetensors

BUNDLED = Path(__file__).resolve().parents[2] / "models" / "categories_stc.safetensors"
FILES = {
    "__init__.py",
    "model.py",
    "network.py",
    "test.py",
    "plugin.json",
    "requirements.txt",
    "metadata.yaml",
    "weights.safetensors",
}
REGIONS = {"V1": "layer2.0", "V2": "layer3.0", "V4": "layer3.1", "IT": "layer4.1"}


@pytest.fixture(scope="module")
def plugin(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("plugins") / "tdsnn_categories_stc"
    spec = "tdsnn @ git+https://example.org/lab/tdsnn@abc123"
    assert (
        main(["export", "brainscore", str(BUNDLED), "--out", str(out), "--requirement", spec]) == 0
    )
    return out


@pytest.fixture(scope="module")
def network(plugin: Path):
    """The plugin's network.py, imported from the plugin folder."""
    spec = importlib.util.spec_from_file_location("exported_network", plugin / "network.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    torch.set_num_threads(1)
    return module.SpikingNetwork(plugin, device="cpu")


def image_files(folder: Path, count: int = 5) -> list[Path]:
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    paths = [folder / f"{i}.png" for i in range(count)]
    for path in paths:
        Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(path)
    return paths


def test_plugin_has_brainscores_layout_and_registers_its_identifier(plugin: Path) -> None:
    assert {p.name for p in plugin.iterdir()} == FILES
    for name in ("__init__.py", "model.py", "network.py", "test.py"):
        compile((plugin / name).read_text(), name, "exec")  # SyntaxError fails the test
    # Brain-Score finds a plugin by this line of its __init__.py (quotes normalised to ')
    lines = (plugin / "__init__.py").read_text().replace('"', "'").splitlines()
    assert any("model_registry['tdsnn_categories_stc']" in line for line in lines)
    requirements = (plugin / "requirements.txt").read_text().splitlines()
    assert requirements == ["tdsnn @ git+https://example.org/lab/tdsnn@abc123", *REQUIREMENTS]
    record = json.loads((plugin / "plugin.json").read_text())
    assert record["identifier"] == "tdsnn_categories_stc" and record["region_layer_map"] == REGIONS
    assert record["time_mapping"]["IT"] == [[0, 75], [75, 150], [150, 225], [225, 300]]
    meta = yaml.safe_load((plugin / "metadata.yaml").read_text())["models"]["tdsnn_categories_stc"]
    ckpt = load_checkpoint(BUNDLED)
    assert meta["total_parameter_count"] == sum(p.numel() for p in ckpt.model.parameters())


def test_an_existing_folder_is_never_overwritten(plugin: Path, capsys) -> None:
    before = (plugin / "plugin.json").read_text()
    assert main(["export", "brainscore", str(BUNDLED), "--out", str(plugin)]) == 2
    assert "not an empty folder" in capsys.readouterr().err
    assert (plugin / "plugin.json").read_text() == before


def test_weights_are_the_checkpoints_without_optimizer_state(plugin: Path) -> None:
    source, exported = load_checkpoint(BUNDLED), load_checkpoint(plugin / "weights.safetensors")
    for key, value in source.model.state_dict().items():
        torch.testing.assert_close(exported.model.state_dict()[key], value, rtol=0, atol=0)
    for layer, sheet in source.sheets.items():
        np.testing.assert_array_equal(exported.sheets[layer].positions, sheet.positions)
    tensors, _ = read_safetensors(plugin / "weights.safetensors")
    assert not any(key.startswith("optim.") for key in tensors)


def test_network_gives_each_timestep_and_the_tissue_of_every_unit(network, tmp_path) -> None:
    paths = image_files(tmp_path / "stimuli")
    images = network.preprocess(paths)
    assert images.shape == (5, 1, 64, 64) and images.dtype == np.float32
    assert images.min() >= 0 and images.max() <= 1
    ckpt = load_checkpoint(BUNDLED)
    direct = record_spikes(ckpt.model, torch.from_numpy(images), list(REGIONS.values()))
    for layer in REGIONS.values():
        names = [f"{layer}-t{t}" for t in range(4)]
        got = network.activations(images, [*names, layer, "logits"])
        steps = np.stack([got[name].reshape(5, -1) for name in names])
        np.testing.assert_array_equal(steps, direct[layer])  # [T, images, units]
        np.testing.assert_allclose(got[layer].reshape(5, -1), steps.mean(0), rtol=1e-6)
        assert got["logits"].shape == (5, 5)  # five categories
        x, y = network.tissue(layer)
        np.testing.assert_array_equal(np.stack([x, y], 1), ckpt.sheets[layer].positions)
        assert len(x) == steps.shape[2] and np.ptp(x) > 0 and np.ptp(y) > 0
    assert any(direct[layer].any() for layer in REGIONS.values())  # units do fire


def test_network_names_what_it_cannot_give(network) -> None:
    images = np.zeros((1, 1, 64, 64), np.float32)
    with pytest.raises(KeyError, match="unknown layer 'fc'"):
        network.activations(images, ["fc"])
    with pytest.raises(KeyError, match="timesteps 0-3"):
        network.activations(images, ["layer2.0-t4"])


def test_region_rule_overrides_and_time_bins() -> None:
    sheets = load_checkpoint(BUNDLED).sheets
    assert region_layer_map(sheets) == REGIONS
    assert region_layer_map(sheets, {"V1": "layer2.1"})["V1"] == "layer2.1"
    with pytest.raises(ValueError, match="regions are"):
        region_layer_map(sheets, {"MT": "layer2.1"})
    with pytest.raises(ValueError, match="no such sheet"):
        region_layer_map(sheets, {"V1": "fc"})
    bins = time_mapping(10, (50.0, 250.0))
    assert bins[0] == [50.0, 70.0] and bins[-1] == [230.0, 250.0]
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bins))
