"""Service settings: environment variables with the prefix ``TDSNN_`` or ``tdsnn serve`` flags."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from tdsnn_core.analysis.probes import DEFAULT_PER_CATEGORY

DEFAULT_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"


class Settings(BaseSettings):
    """Where models come from, where to listen, and the service's limits.

    ``token`` (``TDSNN_TOKEN``), when set, is required as ``Authorization: Bearer <token>`` on
    every route. ``batch_window_ms`` and ``max_batch`` shape adaptive batching (a lone request
    runs alone at once; a burst shares batches, see :class:`~backend.worker.InferenceWorker`).
    Each model's inference worker and analysis lane queue at most ``queue_size`` requests
    (more get a 503 with Retry-After); a request not answered within ``deadline_s`` gets a 504.
    """

    model_config = SettingsConfigDict(env_prefix="TDSNN_", extra="forbid")

    models_dir: Path = DEFAULT_MODELS_DIR
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    token: SecretStr | None = None
    threads: int | None = Field(None, ge=1, description="torch CPU threads (default: torch's)")
    max_upload_bytes: int = Field(10 * 2**20, ge=1)
    max_image_pixels: int = Field(25_000_000, ge=1)
    max_json_values: int = Field(
        200_000, ge=1, description="largest T x units answered in the 'json' output form"
    )
    batch_window_ms: float = Field(2.0, ge=0.0)
    max_batch: int = Field(32, ge=1)
    queue_size: int = Field(8, ge=1, description="waiting requests per model and lane")
    deadline_s: float = Field(120.0, gt=0.0, description="time to answer a model request")
    lesion_images: int = Field(
        256, ge=8, description="test images per classifier lesion score (~25 per class)"
    )
    probes_per_category: int = Field(
        DEFAULT_PER_CATEGORY, ge=2, description="probes per category (half scored, readout)"
    )
