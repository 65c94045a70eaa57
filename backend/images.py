"""Stimuli of spike requests: uploaded PNG/JPEG images (checked, decoded, resized), gratings."""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from backend.errors import ApiError
from tdsnn_core.data import sine_grating

FORMATS = ("PNG", "JPEG")
# Types of the multipart ``image`` part, as documented; octet-stream (or none) is sniffed.
PART_TYPES = ("image/png", "image/jpeg", "application/octet-stream")
FIELD, BAD = "body.image", "bad_image"


def decode_image(
    data: bytes, content_type: str | None, size: int, channels: int, max_pixels: int
) -> torch.Tensor:
    """An uploaded PNG/JPEG as a model input [channels, size, size] in [0, 1].

    Any size or aspect is resized (bilinear) to ``size`` x ``size``; colour is converted to
    grey for 1-channel models. Raises ApiError 400 (empty, not an image, truncated or
    corrupt), 413 (more than ``max_pixels`` pixels, decompression bombs included) or 415
    (a part type other than ``PART_TYPES``, or an image format other than PNG/JPEG).
    """
    declared = (content_type or "").split(";")[0].strip().lower()
    if declared and declared not in PART_TYPES:
        raise ApiError(
            415,
            f"the upload is declared as {content_type!r}; send image/png or image/jpeg",
            field=FIELD,
        )
    if not data:
        raise ApiError(400, "the uploaded image is empty (0 bytes)", field=FIELD, code=BAD)
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in FORMATS:
                raise ApiError(
                    415,
                    f"image format {image.format} is not accepted; send PNG or JPEG",
                    field=FIELD,
                )
            width, height = image.size
            if width * height > max_pixels:
                raise ApiError(
                    413,
                    f"image is {width} x {height} = {width * height} pixels; "
                    f"the limit is {max_pixels}",
                    field=FIELD,
                )
            converted = image.convert("L" if channels == 1 else "RGB")
    except Image.DecompressionBombError as exc:
        raise ApiError(413, f"image rejected as a decompression bomb: {exc}", field=FIELD) from None
    except UnidentifiedImageError:
        raise ApiError(
            400, "the upload is not an image (PNG or JPEG expected)", field=FIELD, code=BAD
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ApiError(
            400, f"the image cannot be decoded (truncated or corrupt): {exc}", field=FIELD, code=BAD
        ) from None
    resized = np.asarray(converted.resize((size, size), Image.Resampling.BILINEAR), np.float32)
    tensor = torch.from_numpy(resized / 255.0)
    tensor = tensor.unsqueeze(0) if tensor.dim() == 2 else tensor.permute(2, 0, 1)
    return tensor.expand(channels, size, size).contiguous()


def grating_image(
    size: int,
    channels: int,
    orientation_deg: float,
    cycles_per_image: float,
    phase_deg: float,
    contrast: float,
) -> torch.Tensor:
    """A full-field sine grating [channels, size, size]; frequencies above Nyquist are a 409."""
    if cycles_per_image > size / 2:
        raise ApiError(
            409,
            f"cycles_per_image {cycles_per_image} exceeds the Nyquist limit of this model's "
            f"{size} px input ({size / 2})",
            field="body.stimulus.cycles_per_image",
        )
    return sine_grating(size, orientation_deg, cycles_per_image, phase_deg, contrast, channels)
