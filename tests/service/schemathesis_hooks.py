"""Schemathesis hooks (SCHEMATHESIS_HOOKS) for the fuzz run of test_schemathesis.py.

JSON Schema cannot say "a decodable PNG": the spikes routes document their ``image`` part as
binary of type image/png, image/jpeg or application/octet-stream (sniffed), so these
strategies teach the runner to make real PNG and JPEG images (any size from 1 x 1 to 80 x 80,
grey or colour, random pixels) instead of random bytes, which the service rightly refuses with
a 400. The runner then sends the image part only with those two types.
"""

from __future__ import annotations

import io

import numpy as np
import schemathesis
from hypothesis import strategies as st
from PIL import Image


@st.composite
def images(draw: st.DrawFn, image_format: str) -> bytes:
    width, height = draw(st.integers(1, 80)), draw(st.integers(1, 80))
    mode = draw(st.sampled_from(["L", "RGB"]))
    seed = draw(st.integers(0, 2**32 - 1))
    shape = (height, width) if mode == "L" else (height, width, 3)
    pixels = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode).save(buffer, format=image_format)
    return buffer.getvalue()


schemathesis.openapi.media_type("image/png", images("PNG"))
schemathesis.openapi.media_type("image/jpeg", images("JPEG"))
