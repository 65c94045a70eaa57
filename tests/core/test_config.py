"""Training configs: YAML, overrides, and clear errors for unknown keys and wrong types."""

from __future__ import annotations

from pathlib import Path

import pytest

from tdsnn_core.config import ConfigError, load_config, save_config

CONFIGS = sorted((Path(__file__).parents[2] / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_shipped_configs_load_and_round_trip(path: Path, tmp_path: Path) -> None:
    config = load_config(path)
    save_config(config, tmp_path / "resolved.yaml")
    assert load_config(tmp_path / "resolved.yaml") == config


def test_imagenet_config_has_the_papers_recipe() -> None:
    cfg = load_config(Path(__file__).parents[2] / "configs/imagenet_sresnet18_stc.yaml")
    assert (cfg.model.name, cfg.optim.lr, cfg.optim.epochs) == ("sresnet18", 5e-4, 300)
    assert (cfg.topography.alpha, cfg.topography.beta, cfg.topography.kind) == (50, 50, "stc")


def test_overrides_are_typed() -> None:
    cfg = load_config(
        None,
        [
            "optim.lr=1e-4",
            "optim.epochs=7",
            "topography.layers=[layer2.0]",
            "model.options={timesteps: 2}",
            "data.root=",
        ],
    )
    assert cfg.optim.lr == 1e-4 and cfg.optim.epochs == 7
    assert cfg.topography.layers == ["layer2.0"] and cfg.model.options == {"timesteps": 2}
    assert cfg.data.root is None


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("optim.lrr=1", r"unknown config key\(s\) \['lrr'\] in section 'optim'"),
        ("optim.epochs=three", "config key optim.epochs: expected int, got 'three'"),
        ("optim.epochs=true", "optim.epochs: expected an integer"),
        ("run.amp=1", "run.amp: expected true or false"),
        ("topography.kind=magic", "'magic' is not one of"),
        ("nonsense", "must look like section.key=value"),
        ("bogus.key=1", r"unknown config key\(s\) \['bogus'\] at the top level"),
    ],
)
def test_bad_overrides_name_the_problem(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


def test_bad_files_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("optim: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(tmp_path / "list.yaml")
