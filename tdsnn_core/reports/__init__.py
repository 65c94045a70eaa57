"""Report writing for ``tdsnn analyze``: metrics.json, the summary table, figures, HTML."""

from tdsnn_core.reports.metrics import analysis_metrics, metric_differences, scalar_metrics
from tdsnn_core.reports.writer import MAX_MODELS, write_report

__all__ = ["MAX_MODELS", "analysis_metrics", "metric_differences", "scalar_metrics", "write_report"]
