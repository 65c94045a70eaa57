"""One shape for every error answer, ``{"code", "detail", "field"}``, and its OpenAPI entries.

``code`` is machine-readable (one per kind of problem), ``detail`` says what went wrong in
words and ``field`` names the offending input as ``location.name`` (``body.stimulus.contrast``,
``path.model_id``, ``query.layer``, ``header.content-type``), or is null.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

Code = Literal[
    "malformed_body",
    "bad_image",
    "unauthorized",
    "not_found",
    "method_not_allowed",
    "model_limit",
    "too_large",
    "unsupported_media_type",
    "invalid_request",
    "busy",
    "deadline_exceeded",
]
CODES: dict[int, Code] = {  # the code of each status, unless an error names its own
    400: "malformed_body",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    409: "model_limit",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    503: "busy",
    504: "deadline_exceeded",
}
DESCRIPTIONS = {
    400: "a malformed multipart body (malformed_body), or an uploaded image that is empty, "
    "not an image, truncated or corrupt (bad_image)",
    401: "missing or wrong token (Authorization: Bearer, or the dashboard's login cookie)",
    404: "no such model, layer, unit or probe",
    409: "a valid request beyond what this model or layer can serve (its Nyquist frequency, "
    "the size of the json form, a map or lesion scorer it cannot compute)",
    413: "the request body, or the image's pixel count, is over the server's limit",
    415: "a content type other than the documented ones (request, or the image part)",
    422: "the request does not match the documented schema",
    503: "this model's queue is full; retry after Retry-After seconds",
    504: "the request did not finish within the server's deadline (TDSNN_DEADLINE_S)",
}
HEADERS = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}},
    503: {
        "Retry-After": {
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
            "description": "seconds",
        }
    },
}


class ErrorBody(BaseModel):
    """Every error answer of the service."""

    model_config = ConfigDict(extra="forbid")

    code: Code = Field(description="the kind of problem")
    detail: str = Field(description="what went wrong, in words")
    field: str | None = Field(description="the offending input as location.name, or null")


class ApiError(HTTPException):
    """An error answer: ``status``, ``detail``, the offending ``field`` and its ``code``
    (default: the status's)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        field: str | None = None,
        code: Code | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status, detail, headers)
        self.field, self.code = field, code


def error_response(
    status: int,
    detail: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    code: Code | None = None,
) -> JSONResponse:
    code = code or CODES.get(status, "invalid_request")
    body = ErrorBody(code=code, detail=detail, field=field)
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def validation_error(errors: list[dict[str, Any]]) -> JSONResponse:
    """A 422 naming every problem (``location.name: message``) and the first field."""
    fields = [".".join(str(part) for part in e.get("loc", ())) for e in errors]
    messages = [f"{f}: {e.get('msg', 'invalid')}" for f, e in zip(fields, errors, strict=True)]
    detail = "; ".join(messages)
    return error_response(422, detail or "invalid request", fields[0] if fields else None)


def install(app: FastAPI) -> None:
    """Answer every HTTP and validation error of ``app`` in the one shape."""

    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        field, code = getattr(exc, "field", None), getattr(exc, "code", None)
        return error_response(exc.status_code, str(exc.detail), field, exc.headers, code)

    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_error(list(exc.errors()))

    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` entries of these error statuses."""
    entries: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        entries[status] = {"model": ErrorBody, "description": DESCRIPTIONS[status]}
        if status in HEADERS:
            entries[status]["headers"] = HEADERS[status]
    return entries
