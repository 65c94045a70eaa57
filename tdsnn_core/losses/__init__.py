"""Topographic losses: STC (rate + spike timing), TDANN's spatial correlation, TopoLoss."""

from tdsnn_core.losses.clusters import (
    Clusters,
    cluster_extent_mm,
    inverse_distance_targets,
    sample_clusters,
)
from tdsnn_core.losses.correlation import (
    PairFactor,
    correlogram_correlations,
    pearson_with_pairs,
    response_correlations,
)
from tdsnn_core.losses.stc import (
    ClusterBatch,
    TopoLossParts,
    default_window,
    gather_clusters,
    rate_term,
    spatial_correlation_loss,
    stc_loss,
    timing_term,
)
from tdsnn_core.losses.topoloss import topoloss

__all__ = [
    "ClusterBatch",
    "Clusters",
    "PairFactor",
    "TopoLossParts",
    "cluster_extent_mm",
    "correlogram_correlations",
    "default_window",
    "gather_clusters",
    "inverse_distance_targets",
    "pearson_with_pairs",
    "rate_term",
    "response_correlations",
    "sample_clusters",
    "spatial_correlation_loss",
    "stc_loss",
    "timing_term",
    "topoloss",
]
