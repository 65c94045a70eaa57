"""Each bad input is a 4xx in the one error shape ({code, detail, field}) naming the problem
and the offending field, at a status the OpenAPI document declares; the server keeps serving."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from service_helpers import error, png

URL = "/v1/models/tiny/spikes"


def jpeg(size: int = 20) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((size, size), 128, np.uint8)).save(buffer, format="JPEG")
    return buffer.getvalue()


def bomb() -> bytes:
    """A 3000 x 3000 PNG (9 Mpx, over the test server's 4 Mpx limit) of a few kB."""
    buffer = io.BytesIO()
    Image.new("L", (3000, 3000)).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def encoded(image_format: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (8, 8)).save(buffer, format=image_format)
    return buffer.getvalue()


UPLOADS = {
    "not an image": (b"hello, this is text" * 10, "image/png", 400, "not an image"),
    "truncated": (png(200, 200)[:300], "image/png", 400, "truncated"),
    "zero bytes": (b"", "image/png", 400, "empty"),
    "over the size limit": (b"\x89PNG" + bytes(1_200_000), "image/png", 413, "exceeds the limit"),
    "decompression bomb": (bomb(), "image/png", 413, "pixels"),
    "wrong part type": (png(), "text/plain", 415, "text/plain"),
    "gif": (encoded("GIF"), "image/gif", 415, "image/gif"),
    "webp": (encoded("WEBP"), "image/webp", 415, "image/webp"),
}
CODES = {400: "bad_image", 413: "too_large", 415: "unsupported_media_type"}


@pytest.fixture(scope="module")
def documented(http) -> dict[str, set[str]]:
    """Declared statuses of the spikes route and the lesions route."""
    paths = http.get("/openapi.json").json()["paths"]
    return {
        "spikes": set(paths["/v1/models/{model_id}/spikes"]["post"]["responses"]),
        "lesions": set(paths["/v1/models/{model_id}/lesions"]["post"]["responses"]),
    }


@pytest.mark.parametrize("case", list(UPLOADS))
def test_bad_uploads(http, documented, case):
    data, content_type, status, words = UPLOADS[case]
    response = http.post(URL, files={"image": ("x", data, content_type)})
    body = error(response, status)
    assert words in body["detail"] and str(status) in documented["spikes"]
    assert body["code"] == CODES[status]
    assert body["field"] == ("body.image" if case != "over the size limit" else None)
    assert http.get("/healthz").status_code == 200


@pytest.mark.parametrize("image_format", ["GIF", "WEBP"])
def test_other_formats_declared_as_png_are_refused_by_their_format(http, image_format):
    response = http.post(URL, files={"image": ("x.png", encoded(image_format), "image/png")})
    assert image_format in error(response, 415)["detail"]


def test_jpeg_is_accepted(http):
    response = http.post(URL, files={"image": ("x.jpg", jpeg(), "image/jpeg")})
    assert response.status_code == 200


def invalid(response) -> dict:
    body = error(response, 422)
    assert body["code"] == "invalid_request"
    return body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"stimulus": {}, "timesteps": 0}, "body.timesteps"),
        ({"stimulus": {}, "timesteps": 65}, "body.timesteps"),
        ({"stimulus": {}, "timesteps": "3"}, "body.timesteps"),
        ({"stimulus": {}, "colour": "red"}, "body.colour"),
        ({"stimulus": {"orientation": 3}}, "body.stimulus.orientation"),
        ({"stimulus": {"contrast": False}}, "body.stimulus.contrast"),
        ({"stimulus": {}, "output": "png"}, "body.output"),
        ({}, "body.stimulus"),
    ],
)
def test_bad_json_requests(http, body, field):
    assert invalid(http.post(URL, json=body))["field"] == field


def test_integral_floats_are_integers_as_in_json_schema(http):
    assert http.post(URL, json={"stimulus": {}, "timesteps": 2.0}).status_code == 200


@pytest.mark.parametrize("content", [b'{"stimulus": {', b"\xff\xfe{\x00", b"[1, 2]"])
def test_malformed_json(http, content):
    response = http.post(URL, content=content, headers={"content-type": "application/json"})
    assert invalid(response)["field"] is not None


def test_unknown_layer_and_nyquist(http):
    body = error(http.post(URL, json={"stimulus": {}, "layers": ["layer9.9"]}), 404)
    assert "unknown layer 'layer9.9'" in body["detail"] and body["field"] == "body.layers"
    body = error(http.post(URL, json={"stimulus": {"cycles_per_image": 9}}), 409)
    assert "Nyquist" in body["detail"] and body["code"] == "model_limit"
    assert body["field"] == "body.stimulus.cycles_per_image"


def test_bad_multipart_options(http):
    files = {"image": ("x.png", png(), "image/png")}
    response = http.post(URL, files=files, data={"options": '{"timesteps": 999}'})
    assert invalid(response)["field"] == "body.options.timesteps"
    response = http.post(URL, files=files, data={"options": "{not json"})
    assert invalid(response)["field"] == "body.options"
    response = http.post(URL, files=files, data={"extra": "1"})
    assert invalid(response)["field"] == "body.extra"
    response = http.post(URL, files={"options": (None, "{}")})
    assert "'image'" in invalid(response)["detail"]


def test_wrong_content_type(http, documented):
    response = http.post(URL, content=b"stimulus", headers={"content-type": "text/plain"})
    body = error(response, 415)
    assert "text/plain" in body["detail"] and body["field"] == "header.content-type"
    lesion = http.post("/v1/models/tiny/lesions", content=b"{}", headers={"content-type": "x/y"})
    assert error(lesion, 415)["code"] == "unsupported_media_type" and "415" in documented["lesions"]


def test_json_form_is_for_small_requests(http):
    response = http.post(
        "/v1/models/mini/spikes", json={"stimulus": {}, "output": "json", "timesteps": 64}
    )
    body = error(response, 409)
    assert "binary" in body["detail"] and body["field"] == "body.output"


def test_unknown_routes_and_methods_answer_in_the_same_shape(http):
    assert error(http.get("/v2/nothing"), 404)["code"] == "not_found"
    response = http.delete("/healthz")
    assert (
        error(response, 405)["code"] == "method_not_allowed" and "GET" in response.headers["allow"]
    )
