"""The packages' import layering, read from their source: the core imports none of the
others, the service never its dashboard (``tdsnn serve`` in ``tdsnn_serve`` mounts it), and
the dashboard reaches the service only through its client."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# package -> the top-level packages (or modules) of this repository it may not import
FORBIDDEN = {
    "tdsnn_core": ("backend", "app", "tdsnn_serve"),
    "backend": ("app", "tdsnn_serve"),
    "app": ("tdsnn_serve", "backend."),  # "backend.": any module but backend.client
}
ALLOWED = {"app": ("backend.client",)}


def imported_modules(path: Path) -> set[str]:
    """Absolute module names imported anywhere in ``path`` (function bodies included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def violates(module: str, forbidden: tuple[str, ...], allowed: tuple[str, ...]) -> bool:
    if any(module == a or module.startswith(f"{a}.") for a in allowed):
        return False
    return any(
        module.startswith(f) if f.endswith(".") else module == f or module.startswith(f"{f}.")
        for f in forbidden
    )


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_the_layers_below_it(package):
    files = sorted((REPO / package).rglob("*.py"))
    assert files, f"no Python files in {package}/"
    bad = {
        f"{path.relative_to(REPO)}: {module}"
        for path in files
        for module in imported_modules(path)
        if violates(module, FORBIDDEN[package], ALLOWED.get(package, ()))
    }
    assert not bad, sorted(bad)


def test_the_check_sees_an_upward_import(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from app.server import add_dashboard\n")
    assert violates("app.server", FORBIDDEN["backend"], ()) and "app.server" in imported_modules(
        source
    )
    assert not violates("backend.client", FORBIDDEN["app"], ALLOWED["app"])
    assert violates("backend.encoding", FORBIDDEN["app"], ALLOWED["app"])


def routes(api) -> set[str]:
    return {getattr(route, "path", "") for route in api.routes}


def test_tdsnn_serve_composes_the_service_and_the_dashboard(tmp_path):
    from backend.app import create_app
    from backend.settings import Settings
    from tdsnn_serve.compose import dashboard_app, service_with_dashboard

    settings = Settings(models_dir=tmp_path)
    assert "/dashboard" not in routes(create_app(settings))  # the service alone
    both = service_with_dashboard(settings, "http://127.0.0.1:8000")
    assert {"/dashboard", "/dashboard/ws", "/"} <= routes(both)
    assert both.state.settings is settings  # the service's own app, with its settings
    remote = dashboard_app("http://gpu-server:8000")  # --service-url: the dashboard alone
    assert "/dashboard" in routes(remote) and not hasattr(remote.state, "settings")
