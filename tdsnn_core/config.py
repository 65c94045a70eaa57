"""Training configuration: typed dataclasses read from YAML, with ``--set key=value`` overrides.

Unknown keys and wrong types are errors that name the key and what was expected.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml


class ConfigError(ValueError):
    """A configuration file or override that cannot be used, with the reason."""


@dataclass
class ModelConfig:
    name: str = "sresnet_mini"
    options: dict = field(default_factory=dict)


@dataclass
class DataConfig:
    kind: str = "fashion_mnist"
    root: str | None = None
    train_subset: int | None = None
    eval_subset: int | None = None
    augment: bool = False
    crop_scale: list[float] = field(default_factory=lambda: [0.08, 1.0])  # imagefolder augment
    rotate: bool = False  # imagefolder augment: uniform 0-360 degree rotations
    workers: int = 0


@dataclass
class TopographyConfig:
    kind: str = "stc"
    alpha: float = 0.5
    beta: float = 0.5
    clusters_per_layer: int = 10
    cluster_size: int = 256
    window: int | None = None
    layers: list[str] | None = None
    neighborhood_scale: float = 1.0
    positions: str | None = None
    sheet_seed: int = 0
    topoloss_factor: float = 3.0
    eps: float = 1e-3
    ramp_epochs: float = 0.0  # the topographic weight grows 0 -> 1 over this many epochs


@dataclass
class ObjectiveConfig:
    """What trains the network besides the topographic term: ``supervised`` (cross-entropy on
    the labels), ``simclr`` (self-supervised, two augmented views per image, NT-Xent at
    ``temperature`` on a ``projection_dim`` projection; the readout trains on detached features
    as a linear probe, so top-1 stays measurable) or ``supervised_simclr`` (both: cross-entropy
    through the whole network on both views, plus NT-Xent). ``simclr_weight`` scales NT-Xent."""

    kind: str = "supervised"
    temperature: float = 0.1
    projection_dim: int = 128
    simclr_weight: float = 1.0


@dataclass
class OptimConfig:
    lr: float = 2e-3
    weight_decay: float = 0.01
    epochs: int = 3
    warmup_epochs: float = 0.0
    batch_size: int = 64
    grad_clip: float | None = 5.0
    label_smoothing: float = 0.0


@dataclass
class RunConfig:
    out_dir: str = "runs/default"
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    sync_bn: bool = False
    threads: int | None = None
    tensorboard: bool = False  # TensorBoard event files in OUT_DIR/tensorboard


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    topography: TopographyConfig = field(default_factory=TopographyConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


CHOICES = {
    "data.kind": ("fashion_mnist", "imagefolder", "gratings"),
    "topography.kind": ("stc", "tdann", "topoloss", "none"),
    "objective.kind": ("supervised", "simclr", "supervised_simclr"),
    "run.device": ("auto", "cpu", "cuda"),
}


def load_config(path: str | Path | None, overrides: list[str] = ()) -> TrainConfig:
    """Read a YAML config (defaults when ``path`` is None) and apply ``key=value`` overrides."""
    raw: dict = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        try:
            raw = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of sections")
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {item!r} must look like section.key=value")
        node = raw
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r}: {part!r} is not a section")
        node[leaf] = yaml.safe_load(value) if value else None
    return _consistent(_build(TrainConfig, raw, ""))


def _consistent(config: TrainConfig) -> TrainConfig:
    """Reject settings that are valid one by one but not together."""
    objective = config.objective
    if objective.kind != "supervised" and not config.data.augment:
        raise ConfigError(
            f"objective.kind {objective.kind} needs data.augment: true (its two views of an image "
            "are two random augmentations; without them they are identical and NT-Xent teaches "
            "nothing)"
        )
    if not objective.temperature > 0:
        raise ConfigError(f"objective.temperature must be > 0, got {objective.temperature}")
    if not objective.simclr_weight > 0:
        raise ConfigError(f"objective.simclr_weight must be > 0, got {objective.simclr_weight}")
    if objective.projection_dim < 1:
        raise ConfigError(f"objective.projection_dim must be >= 1, got {objective.projection_dim}")
    return config


def save_config(config: TrainConfig, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))


def _build(cls: type, data: Any, prefix: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"config section {prefix or '(top level)'!r} must be a mapping")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        where = f"in section {prefix.rstrip('.')!r}" if prefix else "at the top level"
        raise ConfigError(f"unknown config key(s) {unknown} {where}; known: {names}")
    values = {}
    for name in names:
        if name not in data:
            continue
        key = prefix + name
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            values[name] = _build(hint, data[name], key + ".")
        else:
            values[name] = _check(hint, data[name], key)
            if key in CHOICES and values[name] not in CHOICES[key]:
                raise ConfigError(
                    f"config key {key}: {values[name]!r} is not one of {CHOICES[key]}"
                )
    return cls(**values)


def _check(hint: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _check(option, value, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0])
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"config key {key}: expected a list, got {value!r}")
        (item,) = typing.get_args(hint)
        return [_check(item, v, f"{key}[{i}]") for i, v in enumerate(value)]
    if hint is dict or origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"config key {key}: expected a mapping, got {value!r}")
        return value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is float and isinstance(value, str):  # YAML 1.1 reads 5e-4 (no dot) as a string
        try:
            return float(value)
        except ValueError:
            pass
    if hint is bool and not isinstance(value, bool):
        raise ConfigError(f"config key {key}: expected true or false, got {value!r}")
    if hint is int and isinstance(value, bool):
        raise ConfigError(f"config key {key}: expected an integer, got {value!r}")
    if not isinstance(value, hint):
        raise ConfigError(f"config key {key}: expected {hint.__name__}, got {value!r}")
    return value
