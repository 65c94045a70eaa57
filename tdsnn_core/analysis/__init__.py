"""Analysis of topographic SNNs.

Map metrics on plain arrays (tuning, smoothness, pinwheels, category patches,
dimensionality) take unit positions [N, 2] in mm and per-unit values [N] (or responses
[..., N]) and need no model. On top of them: stimuli (gratings, category probes), layer
maps from recorded rates, lesions, temporal dynamics and robustness of a model. The pipeline
that runs a checkpoint through all of them is :mod:`tdsnn_core.experiments`; the report it
writes is :mod:`tdsnn_core.reports`.
"""

from tdsnn_core.analysis.category import (
    LabelPermutationNull,
    Patches,
    TMap,
    find_patches,
    label_permutation_null,
    patch_area_limits,
    smoothed_t_map,
    t_map_correlation,
    welch_t,
    welch_t_by_category,
)
from tdsnn_core.analysis.dimensionality import effective_dimensionality
from tdsnn_core.analysis.grid import SheetGrid, gaussian_average
from tdsnn_core.analysis.intervals import Interval, bootstrap_interval, paired_difference
from tdsnn_core.analysis.maps import (
    CategoryMaps,
    OrientationMap,
    category_maps,
    orientation_map,
    selectivity_peak,
)
from tdsnn_core.analysis.nulls import NullComparison
from tdsnn_core.analysis.pinwheels import (
    MapSpectrum,
    OrientationField,
    PinwheelNull,
    Pinwheels,
    detect_pinwheels,
    doubled_angle_winding,
    field_pinwheels,
    map_spectrum,
    orientation_field,
    shuffled_pinwheel_null,
)
from tdsnn_core.analysis.probes import (
    ProbeSet,
    default_probe_set,
    load_probe_folder,
    to_model_input,
)
from tdsnn_core.analysis.smoothness import (
    Smoothness,
    SmoothnessNull,
    category_distance_bin_edges,
    map_smoothness,
    sheet_distance_bin_edges,
    smoothness_interval,
    smoothness_null,
    smoothness_score,
    v1_distance_bin_edges,
)
from tdsnn_core.analysis.stimuli import GratingSet, grating_set
from tdsnn_core.analysis.tuning import (
    GratingTuning,
    OrientationDiversity,
    grating_tuning,
    orientation_curves,
    orientation_diversity,
    orientation_selectivity_index,
    preferred_orientation,
    preferred_value,
    spatial_frequency_curves,
    top_fraction_mask,
    tuning_range,
)

__all__ = [
    "CategoryMaps",
    "GratingSet",
    "GratingTuning",
    "Interval",
    "LabelPermutationNull",
    "MapSpectrum",
    "NullComparison",
    "OrientationDiversity",
    "OrientationField",
    "OrientationMap",
    "Patches",
    "PinwheelNull",
    "Pinwheels",
    "ProbeSet",
    "SheetGrid",
    "Smoothness",
    "SmoothnessNull",
    "TMap",
    "bootstrap_interval",
    "category_distance_bin_edges",
    "category_maps",
    "default_probe_set",
    "detect_pinwheels",
    "doubled_angle_winding",
    "effective_dimensionality",
    "field_pinwheels",
    "find_patches",
    "gaussian_average",
    "grating_set",
    "grating_tuning",
    "label_permutation_null",
    "load_probe_folder",
    "map_smoothness",
    "map_spectrum",
    "orientation_curves",
    "orientation_diversity",
    "orientation_field",
    "orientation_map",
    "orientation_selectivity_index",
    "paired_difference",
    "patch_area_limits",
    "preferred_orientation",
    "preferred_value",
    "selectivity_peak",
    "sheet_distance_bin_edges",
    "shuffled_pinwheel_null",
    "smoothed_t_map",
    "smoothness_interval",
    "smoothness_null",
    "smoothness_score",
    "spatial_frequency_curves",
    "t_map_correlation",
    "to_model_input",
    "top_fraction_mask",
    "tuning_range",
    "v1_distance_bin_edges",
    "welch_t",
    "welch_t_by_category",
]
