"""Model cards: what a released checkpoint is (architecture, data, config, epochs, seed) and
what it measures on a fixed evaluation subset, so a shipped file can be checked against it.

A card is Markdown with a YAML front matter (the machine-readable part) and a short
human-readable body, stored as ``<models dir>/cards/<checkpoint stem>.md``.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import yaml

from tdsnn_core.checkpoints import Checkpoint, load_checkpoint
from tdsnn_core.config import TopographyConfig, TrainConfig, load_config

SUBSET_IMAGES = 1000
# The topography options that shape training, per loss kind (the rest are inert for it).
_CLUSTER_KEYS = (
    "kind",
    "alpha",
    "clusters_per_layer",
    "cluster_size",
    "layers",
    "neighborhood_scale",
    "positions",
    "sheet_seed",
    "eps",
    "ramp_epochs",
)
TOPOGRAPHY_KEYS = {
    "none": ("kind",),
    "stc": (*_CLUSTER_KEYS, "beta", "window"),
    "tdann": _CLUSTER_KEYS,
    "topoloss": ("kind", "alpha", "layers", "topoloss_factor", "ramp_epochs"),
}
TOLERANCE = {
    "top1": 0.3,
    "v1_smoothness": 0.02,
    "mean_rate": 0.02,  # relative
    "smoothness_percentile": 2.0,
    "orientation_fractions": 0.01,
    "pinwheel_density": 0.05,
    "column_spacing_mm": 0.05,
}

# What a card check re-measures, and the TOLERANCE entry each is held to (None: exactly).
CHECKED = {
    "top1": "top1",
    "top1_interval": "top1",
    "v1_units": None,
    "v1_grid": None,
    "v1_smoothness": "v1_smoothness",
    "smoothness_interval": "v1_smoothness",
    "smoothness_percentile": "smoothness_percentile",
    "orientation_fractions": "orientation_fractions",
    "orientation_intervals": "orientation_fractions",
    "pinwheel_density": "pinwheel_density",
    "pinwheel_density_interval": "pinwheel_density",
    "pinwheel_null_resolvable": None,
    "column_spacing_mm": "column_spacing_mm",
    "column_spacing_interval": "column_spacing_mm",
}


class CardError(ValueError):
    """A card that cannot be read or does not describe its checkpoint."""


@dataclass(frozen=True)
class CardCheck:
    """The outcome of checking a checkpoint against its card: ``problems`` is empty when
    they agree; ``measured`` holds the recomputed subset metrics."""

    measured: dict
    problems: list[str]


def card_path(checkpoint: str | Path) -> Path:
    """Where the card of ``checkpoint`` lives: ``cards/<stem>.md`` beside it."""
    checkpoint = Path(checkpoint)
    return checkpoint.parent / "cards" / f"{checkpoint.stem}.md"


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def subset_metrics(ckpt: Checkpoint, images: int = SUBSET_IMAGES, batch_size: int = 100) -> dict:
    """Top-1 on the first ``images`` test images of the checkpoint's training data with its
    95 % interval over their source images, mean firing rate of every topographic layer on
    them, and the V1 orientation map (:func:`v1_map_metrics`)."""
    from tdsnn_core.data.sources import source_count
    from tdsnn_core.experiments import AnalysisSettings, area_layer, labelled_data
    from tdsnn_core.experiments.accuracy import ScoredImages
    from tdsnn_core.recording import forward_batches

    settings = AnalysisSettings(subset=images, batch_size=batch_size)
    inputs, labels, sources = labelled_data(ckpt, settings)
    model = ckpt.model.eval()
    correct = np.zeros(len(inputs), dtype=bool)
    rate_sums = dict.fromkeys(ckpt.sheets, 0.0)
    for batch, out in forward_batches(model, inputs, batch_size=batch_size):
        correct[batch] = out.logits.argmax(1).cpu().numpy() == labels[batch]
        for name in rate_sums:
            rate_sums[name] += float(out.spikes[name].float().mean(dim=(0, *range(2, 5))).sum())
    top1 = ScoredImages(correct, labels, sources).interval()
    v1 = area_layer(ckpt.sheets, "V1")
    return {
        "images": len(inputs),
        "sources": source_count(len(inputs), sources),
        "top1": round(top1.estimate, 2),
        "top1_interval": _rounded(top1.bounds, 2),
        "mean_rate": {name: round(total / len(inputs), 5) for name, total in rate_sums.items()},
        "v1_layer": v1,
        **v1_map_metrics(model, ckpt.sheets[v1], settings),
    }


def v1_map_metrics(model, sheet, settings) -> dict:
    """What the card records of the V1 orientation map: units and retinotopic grid,
    smoothness beside its shuffle null, orientation diversity of the tuned units, and the
    pinwheel density per column spacing squared (None with the reason when unresolvable)."""
    from tdsnn_core.experiments import layer_orientation_map

    _, *grid = sheet.dims
    record = {"v1_units": int(np.prod(sheet.dims)), "v1_grid": list(grid)}
    try:
        vmap = layer_orientation_map(model, sheet, settings)
    except ValueError as exc:  # V1 silent to gratings: no map to measure
        return {**record, "v1_smoothness": None, "v1_map_unmeasurable": str(exc)}
    wheels = vmap.pinwheels
    return {
        **record,
        "v1_smoothness": round(vmap.smoothness.score, 4),
        "smoothness_interval": _rounded(vmap.smoothness_interval.bounds, 4),
        "smoothness_percentile": round(vmap.smoothness_null.score.percentile, 1),
        "orientation_fractions": _rounded(vmap.diversity.fractions, 4),
        "orientation_intervals": _rounded(vmap.diversity.fraction_intervals, 4),
        "pinwheel_density": round(float(wheels.density), 3) if wheels.resolvable else None,
        "pinwheel_density_interval": (
            _rounded(wheels.density_interval.bounds, 3)
            if wheels.density_interval is not None
            else None
        ),
        "pinwheel_reason": wheels.reason,
        "pinwheel_null_resolvable": round(float(vmap.pinwheel_null.resolvable_fraction), 3),
        "column_spacing_mm": (
            round(float(wheels.column_spacing_mm), 3)
            if np.isfinite(wheels.column_spacing_mm)
            else None
        ),
        "column_spacing_interval": (
            _rounded(wheels.column_spacing_interval.bounds, 3)
            if wheels.column_spacing_interval is not None
            else None
        ),
    }


def _rounded(values, digits: int) -> list:
    """``values`` (nested) as plain lists of floats rounded to ``digits``, for YAML."""
    return np.round(np.asarray(values, dtype=float), digits).tolist()


def build_card(checkpoint: str | Path, config: str | Path, notes: str = "") -> dict:
    """The card of ``checkpoint`` trained with the YAML ``config`` (its reproduce command)."""
    checkpoint = Path(checkpoint)
    ckpt = load_checkpoint(checkpoint)
    meta, train = ckpt.meta, ckpt.meta.get("train_config", {})
    metrics = meta.get("metrics", {})
    topo = _topography(train)
    return {
        "name": checkpoint.stem,
        "checkpoint": checkpoint.name,
        "sha256": file_sha256(checkpoint),
        "architecture": meta["model"]["name"],
        "timesteps": ckpt.model.timesteps,
        "data": train.get("data", {}).get("kind"),
        "topography": topo,
        "training": {
            "config": str(config),
            "reproduce": f"tdsnn train --config {config}",
            "epochs": meta.get("epoch"),
            "seed": train.get("run", {}).get("seed"),
            "batch_size": train.get("optim", {}).get("batch_size"),
            "lr": train.get("optim", {}).get("lr"),
            "images_per_s": round(float(metrics.get("images_per_s", 0.0)), 1),
            "versions": meta.get("versions", {}),
        },
        "metrics": {
            "test_top1": metrics.get("eval_top1"),
            "test_top5": metrics.get("eval_top5"),
            "subset": subset_metrics(ckpt),
        },
        "notes": notes,
    }


def render_card(card: dict) -> str:
    """Markdown with the card as YAML front matter and a readable summary below it."""
    m, t, s = card["metrics"], card["training"], card["metrics"]["subset"]
    topo = card["topography"]
    kind = topo.get("kind", "none")
    weights = ", ".join(f"{k} {v}" for k, v in topo.items() if k != "kind")
    rates = ", ".join(f"{k} {v:.3f}" for k, v in s["mean_rate"].items())
    body = [
        f"# {card['name']}",
        "",
        f"`{card['architecture']}` (T = {card['timesteps']}) trained on {card['data']} for "
        f"{t['epochs']} epoch(s), seed {t['seed']}, topographic loss **{kind}** ({weights}).",
        "",
        f"Reproduce: `{t['reproduce']}`",
        "",
        "| metric | value |",
        "|---|---|",
        f"| top-1, full test set, as training stored it | {m['test_top1']} % |",
        f"| top-5, full test set | {m['test_top5']} % |",
        f"| top-1, first {s['images']} test images ({s.get('sources')} source images) "
        f"[95 % interval over sources] | {s['top1']} {_bracket(s.get('top1_interval'))} % |",
        f"| V1 ({s['v1_layer']}) units, retinotopic grid | {s['v1_units']}, "
        f"{' x '.join(map(str, s['v1_grid']))} |",
        f"| V1 orientation-map smoothness [95 % interval over sheet tiles] (percentile of its "
        f"shuffle null) | {s['v1_smoothness']} {_bracket(s.get('smoothness_interval'))} "
        f"({s.get('smoothness_percentile')}) |",
        f"| V1 analysed units (top quarter by tuning range) per 22.5-degree orientation bin "
        f"(0, 22.5, ... deg) [95 % interval "
        f"over sheet tiles] | {_percentages(s)} |",
        f"| V1 pinwheels per column spacing squared [95 %], map of all tuned units (spacing "
        f"Lambda [95 %]) | "
        f"{_pinwheels(s)} |",
        f"| mean firing rate per layer | {rates} |",
        "",
        card["notes"],
        "",
        f"Check the file against this card: `tdsnn card check models/{card['checkpoint']}`.",
    ]
    front = yaml.safe_dump(card, sort_keys=False, allow_unicode=True)
    return f"---\n{front}---\n\n" + "\n".join(body) + "\n"


def _bracket(interval: list[float] | None, scale: float = 1.0, digits: int = 2) -> str:
    if interval is None:
        return ""
    low, high = (scale * v for v in interval)
    return f"[{low:.{digits}f}, {high:.{digits}f}]"


def _percentages(subset: dict) -> str:
    fractions = subset.get("orientation_fractions")
    if fractions is None:
        return "-"
    intervals = subset.get("orientation_intervals") or [None] * len(fractions)
    return (
        " / ".join(
            f"{100 * f:.1f} {_bracket(i, 100, 1)}".strip()
            for f, i in zip(fractions, intervals, strict=True)
        )
        + " %"
    )


def _pinwheels(subset: dict) -> str:
    if "v1_map_unmeasurable" in subset:
        return f"no map: {subset['v1_map_unmeasurable']}"
    lam = subset.get("column_spacing_mm")
    interval = _bracket(subset.get("column_spacing_interval"))
    spacing = "no Lambda" if lam is None else f"Lambda {lam} {interval}".strip() + " mm"
    if subset.get("pinwheel_density") is not None:
        interval = _bracket(subset.get("pinwheel_density_interval"))
        null = subset.get("pinwheel_null_resolvable")
        return (
            f"{subset['pinwheel_density']} {interval} ({spacing}; shuffled maps "
            f"resolvable: {100 * null:.0f} %)"
        )
    return f"not resolvable: {subset.get('pinwheel_reason')} ({spacing})"


def write_card(card: dict, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_card(card))
    return path


def read_card(path: str | Path) -> dict:
    """The front matter of a card file."""
    path = Path(path)
    if not path.is_file():
        raise CardError(f"no model card at {path} (write one with `tdsnn card write`)")
    parts = path.read_text().split("---\n", 2)
    if len(parts) < 3 or parts[0]:
        raise CardError(f"{path} does not start with a '---' YAML front matter")
    try:
        card = yaml.safe_load(parts[1])
    except yaml.YAMLError as exc:
        raise CardError(f"{path}: front matter is not valid YAML: {exc}") from exc
    if not isinstance(card, dict) or "metrics" not in card:
        raise CardError(f"{path}: front matter has no 'metrics'")
    return card


def _topography(train_config: dict) -> dict:
    """The topography options that shaped training (see TOPOGRAPHY_KEYS), Nones dropped; an
    option the config lacks (a checkpoint older than the option) counts as its default."""
    topo = {**asdict(TopographyConfig()), **train_config.get("topography", {})}
    keys = TOPOGRAPHY_KEYS.get(topo.get("kind"), tuple(topo))
    return {k: topo[k] for k in keys if topo.get(k) is not None}


def _config_drift(card: dict, ckpt: Checkpoint) -> list[str]:
    """Differences between the card's config file and the config the checkpoint was trained
    with: model, data, optimiser and the topography options that matter for its loss (run
    options such as the output folder and thread count excluded); an option newer than the
    checkpoint counts as its default."""
    defaults = TrainConfig().to_dict()  # options newer than the checkpoint: their defaults
    given = ckpt.meta.get("train_config", {})
    trained = {
        section: {**values, **given.get(section, {})} for section, values in defaults.items()
    }
    current = load_config(card["training"]["config"]).to_dict()
    current["topography"], trained["topography"] = _topography(current), _topography(trained)
    return [
        f"config {section}.{key}: file says {value!r}, checkpoint was trained with "
        f"{trained.get(section, {}).get(key)!r}"
        for section, values in current.items()
        if section != "run"
        for key, value in values.items()
        if trained.get(section, {}).get(key) != value
    ]


def _agree(got, want, tolerance: float) -> bool:
    """Whether a re-measured value (a number, or nested lists of them) matches the card's
    within ``tolerance``; None (not measurable) agrees only with None."""
    if got is None or want is None:
        return got is None and want is None
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    return got.shape == want.shape and bool(np.allclose(got, want, atol=tolerance, rtol=0))


def check_card(checkpoint: str | Path, card_file: str | Path | None = None) -> CardCheck:
    """Recompute the subset metrics of ``checkpoint`` and compare them (and its hash and
    config) with its card."""
    card = read_card(card_file or card_path(checkpoint))
    ckpt = load_checkpoint(checkpoint)
    problems = []
    if (digest := file_sha256(checkpoint)) != card.get("sha256"):
        problems.append(f"sha256 {digest} differs from the card's {card.get('sha256')}")
    problems += _config_drift(card, ckpt)
    measured, expected = subset_metrics(ckpt), card["metrics"]["subset"]
    for key, tolerance in CHECKED.items():
        got, want = measured.get(key), expected.get(key)
        if not _agree(got, want, TOLERANCE[tolerance] if tolerance else 0.0):
            problems.append(f"{key}: measured {got}, card says {want}")
    for layer, rate in expected["mean_rate"].items():
        got = measured["mean_rate"].get(layer, float("nan"))
        if not np.isclose(got, rate, rtol=TOLERANCE["mean_rate"], atol=1e-4):
            problems.append(f"mean_rate {layer}: measured {got}, card says {rate}")
    return CardCheck(measured, problems)
