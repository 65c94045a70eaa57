"""Each bad input is a 4xx JSON error naming the problem, and the server keeps serving."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image
from service_helpers import png

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


def gif() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (8, 8)).save(buffer, format="GIF")
    return buffer.getvalue()


UPLOADS = {
    "not an image": (b"hello, this is text" * 10, "image/png", 400, "not an image"),
    "truncated": (png(200, 200)[:300], "image/png", 400, "truncated"),
    "zero bytes": (b"", "image/png", 400, "empty"),
    "over the size limit": (b"\x89PNG" + bytes(1_200_000), "image/png", 413, "exceeds the limit"),
    "decompression bomb": (bomb(), "image/png", 413, "pixels"),
    "wrong part type": (png(), "text/plain", 415, "text/plain"),
    "gif": (gif(), "image/gif", 415, "image/gif"),
}


@pytest.mark.parametrize("case", list(UPLOADS))
def test_bad_uploads(http, case):
    data, content_type, status, words = UPLOADS[case]
    response = http.post(URL, files={"image": ("x", data, content_type)})
    assert response.status_code == status, response.text
    assert words in response.json()["detail"]
    assert http.get("/healthz").status_code == 200


def test_gif_declared_as_png_is_refused_by_its_format(http):
    response = http.post(URL, files={"image": ("x.png", gif(), "image/png")})
    assert response.status_code == 415 and "GIF" in response.json()["detail"]


def test_jpeg_is_accepted(http):
    response = http.post(URL, files={"image": ("x.jpg", jpeg(), "image/jpeg")})
    assert response.status_code == 200


def field_errors(response) -> str:
    assert response.status_code == 422, response.text
    return json.dumps(response.json()["detail"])


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"stimulus": {}, "timesteps": 0}, "timesteps"),
        ({"stimulus": {}, "timesteps": 65}, "timesteps"),
        ({"stimulus": {}, "colour": "red"}, "colour"),
        ({"stimulus": {"orientation": 3}}, "orientation"),
        ({"stimulus": {}, "output": "png"}, "output"),
        ({}, "stimulus"),
    ],
)
def test_bad_json_requests(http, body, words):
    assert words in field_errors(http.post(URL, json=body))


def test_malformed_json(http):
    response = http.post(
        URL, content=b'{"stimulus": {', headers={"content-type": "application/json"}
    )
    assert "json_invalid" in field_errors(response)


def test_unknown_layer_and_nyquist(http):
    response = http.post(URL, json={"stimulus": {}, "layers": ["layer9.9"]})
    assert response.status_code == 422 and "unknown layer 'layer9.9'" in response.json()["detail"]
    response = http.post(URL, json={"stimulus": {"cycles_per_image": 9}})
    assert response.status_code == 422 and "Nyquist" in response.json()["detail"]


def test_bad_multipart_options(http):
    files = {"image": ("x.png", png(), "image/png")}
    response = http.post(URL, files=files, data={"options": '{"timesteps": 999}'})
    assert "options" in field_errors(response) and "timesteps" in field_errors(response)
    response = http.post(URL, files=files, data={"options": "{not json"})
    assert "json_invalid" in field_errors(response)
    response = http.post(URL, files=files, data={"extra": "1"})
    assert response.status_code == 422 and "extra" in response.json()["detail"]
    response = http.post(URL, files={"options": (None, "{}")})
    assert response.status_code == 422 and "'image'" in response.json()["detail"]


def test_wrong_content_type(http):
    response = http.post(URL, content=b"stimulus", headers={"content-type": "text/plain"})
    assert response.status_code == 415 and "text/plain" in response.json()["detail"]


def test_json_form_is_for_small_requests(http):
    response = http.post(
        "/v1/models/mini/spikes", json={"stimulus": {}, "output": "json", "timesteps": 64}
    )
    assert response.status_code == 422 and "binary" in response.json()["detail"]
