"""Experiments that run a model: lesions, temporal dynamics, robustness, the layer-map
recipes and the analysis pipeline that runs them all (every forward pass goes through the one
runner, :mod:`tdsnn_core.recording`). Pure map metrics on arrays are :mod:`tdsnn_core.analysis`.
"""

from tdsnn_core.experiments.layer_maps import (
    area_layer,
    default_layer,
    labelled_data,
    layer_orientation_map,
    probe_category_maps,
)
from tdsnn_core.experiments.lesions import (
    ClassifierScorer,
    LesionEffect,
    ReadoutScorer,
    Score,
    disc_lesion,
    disc_units,
    lesion_sweep,
    random_units,
    unit_lesion,
)
from tdsnn_core.experiments.pipeline import ModelAnalysis, analyze_checkpoint, patch_lesion
from tdsnn_core.experiments.robustness import (
    RobustnessCurve,
    fgsm,
    gaussian_noise,
    perturbed_accuracy,
    perturbed_correct,
    pgd,
    pixel_masking,
    robustness_curves,
)
from tdsnn_core.experiments.settings import PARTS, AnalysisSettings
from tdsnn_core.experiments.temporal import (
    SpikingStatistics,
    SynchronyCurve,
    fisher_information,
    mean_word_entropy,
    resampled_word_entropy,
    spiking_statistics,
    synchrony_curve,
    synchrony_vs_distance,
    timestep_sweep,
    word_entropy,
)

__all__ = [
    "PARTS",
    "AnalysisSettings",
    "ClassifierScorer",
    "LesionEffect",
    "ModelAnalysis",
    "ReadoutScorer",
    "RobustnessCurve",
    "Score",
    "SpikingStatistics",
    "SynchronyCurve",
    "analyze_checkpoint",
    "area_layer",
    "default_layer",
    "disc_lesion",
    "disc_units",
    "fgsm",
    "fisher_information",
    "gaussian_noise",
    "labelled_data",
    "layer_orientation_map",
    "lesion_sweep",
    "mean_word_entropy",
    "patch_lesion",
    "perturbed_accuracy",
    "perturbed_correct",
    "pgd",
    "pixel_masking",
    "probe_category_maps",
    "random_units",
    "resampled_word_entropy",
    "robustness_curves",
    "spiking_statistics",
    "synchrony_curve",
    "synchrony_vs_distance",
    "timestep_sweep",
    "unit_lesion",
    "word_entropy",
]
