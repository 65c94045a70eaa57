"""The service's OpenAPI document, narrowed to what this deployment accepts.

FastAPI's schema, with ErrorBody for every error, plus: the models of the hand-parsed
bodies; ``model_id``, ``probe_id`` and layer names as enums of what is served (a name outside
them is a 404); the 413 of the body limit on every operation; with a token, the bearer scheme
and its 401; links from the model list to every per-model operation (for stateful clients
and fuzzers).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from backend import errors, schemas
from backend.routes.probes import bundled_probes

LAYER_MARK = "x-tdsnn-layer"  # set on layer-name schemas (schemas.LayerName), replaced by enums
HANDPARSED = (
    schemas.SpikesRequest,
    schemas.SpikeOptions,
    schemas.SpikesRaster,
    schemas.SpikesJSON,
    schemas.DiscLesion,
    schemas.UnitLesion,
)


def service_openapi(app: FastAPI) -> dict[str, Any]:
    """The document of ``app`` (built once, after the models have loaded)."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in HANDPARSED:
            spec = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(spec.pop("$defs", {}))
            components[model.__name__] = spec
        store, settings = app.state.store, app.state.settings
        layers = sorted({layer for entry in store.entries.values() for layer in entry.sheets})
        _replace_marks(schema, layers)
        _one_error_shape(schema)
        operations = [op for path in schema["paths"].values() for op in path.values()]
        for operation in operations:
            operation["responses"].setdefault("413", _error(413))
            _enumerate(operation, "model_id", sorted(store.entries))
            _enumerate(operation, "probe_id", sorted(bundled_probes()))
        _link_models(schema)
        if settings.token is not None:
            _require_token(schema, operations)
        app.openapi_schema = schema
    return app.openapi_schema


def _error(status: int) -> dict[str, Any]:
    entry = errors.responses(status)[status]
    out = {
        "description": entry["description"],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    if "headers" in entry:
        out["headers"] = entry["headers"]
    return out


def _replace_marks(node: Any, layers: list[str]) -> None:
    """Every layer-name schema becomes an enum of the served layers (if any)."""
    if isinstance(node, dict):
        if node.pop(LAYER_MARK, False) and layers:
            node["enum"] = layers
        for value in node.values():
            _replace_marks(value, layers)
    elif isinstance(node, list):
        for value in node:
            _replace_marks(value, layers)


def _one_error_shape(schema: dict[str, Any]) -> None:
    """FastAPI's own validation-error models give way to ErrorBody (what the service sends)."""
    for name in ("HTTPValidationError", "ValidationError"):
        schema["components"]["schemas"].pop(name, None)
    for path in schema["paths"].values():
        for operation in path.values():
            for status, response in operation["responses"].items():
                ref = response.get("content", {}).get("application/json", {}).get("schema", {})
                if ref.get("$ref", "").endswith("/HTTPValidationError"):
                    operation["responses"][status] = _error(int(status))


def _enumerate(operation: dict[str, Any], name: str, values: list[str]) -> None:
    for parameter in operation.get("parameters", []):
        if parameter["name"] == name and parameter["in"] == "path" and values:
            parameter["schema"]["enum"] = values


def _link_models(schema: dict[str, Any]) -> None:
    """Links from GET /v1/models to each operation that takes a ``model_id``."""
    links = {}
    for path in schema["paths"].values():
        for operation in path.values():
            names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            if "model_id" in names:
                links[operation["operationId"]] = {
                    "operationId": operation["operationId"],
                    "parameters": {"model_id": "$response.body#/models/0/id"},
                }
    schema["paths"]["/v1/models"]["get"]["responses"]["200"]["links"] = links


def _require_token(schema: dict[str, Any], operations: list[dict[str, Any]]) -> None:
    schema["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    schema["security"] = [{"bearer": []}]
    for operation in operations:
        operation["responses"].setdefault("401", _error(401))
