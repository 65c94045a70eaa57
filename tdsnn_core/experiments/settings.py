"""What ``tdsnn analyze`` computes and on how much data: :class:`AnalysisSettings`."""

from __future__ import annotations

from dataclasses import dataclass, field

from tdsnn_core.experiments.robustness import DEFAULT_STRENGTHS

PARTS = (  # the analyses of tdsnn analyze, in the order they run
    "top1",
    "orientation",
    "categories",
    "dimensionality",
    "lesions",
    "temporal",
    "synchrony",
    "fisher",
    "robustness",
)


@dataclass
class AnalysisSettings:
    """What to compute and on how much data (the ``tdsnn analyze`` options).

    ``data``/``root`` default to the checkpoint's training data; top-1 is scored on its whole test
    split (or ``top1_subset`` images of it, spread over the classes); ``subset`` labelled test
    images feed accuracy vs T, synchrony and (``robustness_subset`` of them, spread evenly over the
    classes) robustness; ``fisher_images`` of them, spread alike, feed Fisher information. Lesion
    radii are fractions of the IT sheet's edge, each lesion compared with ``lesion_controls`` random
    lesions of as many units. ``v1_layer``/``it_layer`` default to the first V1 and the last layer.
    ``bootstrap_draws`` resamplings of the images give every model-vs-model interval.
    """

    data: str | None = None
    root: str | None = None
    top1_subset: int | None = None
    subset: int = 256
    probe_root: str | None = None
    probes_per_category: int | None = None  # None: all of a probe folder, 200 of the built-in set
    v1_layer: str | None = None
    it_layer: str | None = None
    n_orientations: int = 8
    phases_deg: tuple[float, ...] = (0.0, 90.0, 180.0, 270.0)
    lesion_radius_fraction: float = 0.15
    sweep_radius_fractions: tuple[float, ...] = (0.05, 0.1, 0.2, 0.3)
    timesteps: tuple[int, ...] | None = None
    robustness: dict[str, tuple[float, ...]] = field(
        default_factory=lambda: dict(DEFAULT_STRENGTHS)
    )
    robustness_subset: int = 128
    fisher_images: int = 64
    smoothness_samples: int = 20
    lesion_controls: int = 20
    bootstrap_draws: int = 1000
    batch_size: int = 64
    seed: int = 0
