"""Analysis of topographic SNNs.

Map metrics on plain arrays (tuning, smoothness, pinwheels, category patches,
dimensionality) take unit positions [N, 2] in mm and per-unit values [N] (or responses
[..., N]) and need no model. On top of them: stimuli (gratings, category probes), layer
maps from recorded rates, lesions, temporal dynamics and robustness of a model, and the
report (``analyze_checkpoint``, ``write_report``) behind ``tdsnn analyze``.
"""

from tdsnn_core.analysis.category import (
    Patches,
    TMap,
    find_patches,
    patch_area_limits,
    smoothed_t_map,
    t_map_correlation,
    welch_t,
    welch_t_by_category,
)
from tdsnn_core.analysis.dimensionality import effective_dimensionality
from tdsnn_core.analysis.grid import SheetGrid, gaussian_average
from tdsnn_core.analysis.lesions import (
    ClassifierScorer,
    LesionEffect,
    ReadoutScorer,
    disc_lesion,
    disc_units,
    lesion_sweep,
    random_units,
    unit_lesion,
)
from tdsnn_core.analysis.maps import (
    CategoryMaps,
    OrientationMap,
    category_maps,
    orientation_map,
    selectivity_peak,
)
from tdsnn_core.analysis.pinwheels import (
    OrientationField,
    Pinwheels,
    detect_pinwheels,
    doubled_angle_winding,
    orientation_field,
)
from tdsnn_core.analysis.probes import (
    ProbeSet,
    default_probe_set,
    load_probe_folder,
    to_model_input,
)
from tdsnn_core.analysis.report import (
    AnalysisSettings,
    ModelAnalysis,
    analysis_metrics,
    analyze_checkpoint,
    write_report,
)
from tdsnn_core.analysis.robustness import (
    fgsm,
    gaussian_noise,
    perturbed_accuracy,
    pgd,
    pixel_masking,
    robustness_curves,
)
from tdsnn_core.analysis.smoothness import (
    Smoothness,
    category_distance_bin_edges,
    map_smoothness,
    smoothness_score,
    v1_distance_bin_edges,
)
from tdsnn_core.analysis.stimuli import GratingSet, grating_set
from tdsnn_core.analysis.temporal import (
    SpikingStatistics,
    SynchronyCurve,
    fisher_information,
    spiking_statistics,
    synchrony_vs_distance,
    timestep_sweep,
    word_entropy,
)
from tdsnn_core.analysis.tuning import (
    GratingTuning,
    grating_tuning,
    orientation_curves,
    orientation_selectivity_index,
    preferred_orientation,
    preferred_value,
    spatial_frequency_curves,
    top_fraction_mask,
    tuning_range,
)

__all__ = [
    "AnalysisSettings",
    "CategoryMaps",
    "ClassifierScorer",
    "GratingSet",
    "GratingTuning",
    "LesionEffect",
    "ModelAnalysis",
    "OrientationField",
    "OrientationMap",
    "Patches",
    "Pinwheels",
    "ProbeSet",
    "ReadoutScorer",
    "SheetGrid",
    "Smoothness",
    "SpikingStatistics",
    "SynchronyCurve",
    "TMap",
    "analysis_metrics",
    "analyze_checkpoint",
    "category_distance_bin_edges",
    "category_maps",
    "default_probe_set",
    "detect_pinwheels",
    "disc_lesion",
    "disc_units",
    "doubled_angle_winding",
    "effective_dimensionality",
    "fgsm",
    "find_patches",
    "fisher_information",
    "gaussian_average",
    "gaussian_noise",
    "grating_set",
    "grating_tuning",
    "lesion_sweep",
    "load_probe_folder",
    "map_smoothness",
    "orientation_curves",
    "orientation_field",
    "orientation_map",
    "orientation_selectivity_index",
    "patch_area_limits",
    "perturbed_accuracy",
    "pgd",
    "pixel_masking",
    "preferred_orientation",
    "preferred_value",
    "random_units",
    "robustness_curves",
    "selectivity_peak",
    "smoothed_t_map",
    "smoothness_score",
    "spatial_frequency_curves",
    "spiking_statistics",
    "synchrony_vs_distance",
    "t_map_correlation",
    "timestep_sweep",
    "to_model_input",
    "top_fraction_mask",
    "tuning_range",
    "unit_lesion",
    "v1_distance_bin_edges",
    "welch_t",
    "welch_t_by_category",
    "word_entropy",
    "write_report",
]
