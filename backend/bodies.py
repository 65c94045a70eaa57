"""JSON request bodies parsed by hand: validated against exactly the documented schema."""

from __future__ import annotations

import json
from typing import TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from backend import schemas
from backend.errors import ApiError

M = TypeVar("M", bound=BaseModel)


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def unsupported(media: str, accepted: str) -> ApiError:
    return ApiError(
        415,
        f"content type {media or 'none'!r} is not accepted: send {accepted}",
        field="header.content-type",
    )


def validated(model: type[M], text: str | bytes, loc: tuple[str, ...]) -> M:
    """``model`` from JSON text; errors become the usual 422 (fields under ``loc``)."""
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        raise RequestValidationError([{**e, "loc": (*loc, *e["loc"])} for e in errors]) from None


async def lesion_request(request: Request) -> schemas.LesionRequest:
    """A disc lesion, or a unit lesion when the body names ``units`` (else a 422 or 415)."""
    media = media_type(request)
    if media != "application/json":
        raise unsupported(media, "application/json")
    raw = await request.body()
    try:
        units = "units" in json.loads(raw)
    except (ValueError, TypeError):  # not JSON, or not an object: the disc model says why
        units = False
    return validated(schemas.UnitLesion if units else schemas.DiscLesion, raw, ("body",))
