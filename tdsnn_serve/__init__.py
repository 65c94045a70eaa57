"""``tdsnn serve``, the composition root: the service (``backend``) with the dashboard
(``app``) mounted on it, or the dashboard alone driving a remote service. Neither package
imports the other's server; only this one knows both (``compose``: the apps; ``command``: the
sub-command, loaded by ``tdsnn`` without importing either)."""
