"""What the dashboard tests share: the bundled default model, the server launcher of the
service tests and screenshots (tests/app/artifacts/, git-ignored)."""

from __future__ import annotations

import sys
from pathlib import Path

from app.page import DEFAULT_MODEL as DEFAULT_ID

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "service"))
from service_helpers import REPO, start_server  # the service tests' launcher

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
DEFAULT_MODEL = REPO / "models" / f"{DEFAULT_ID}.safetensors"

__all__ = ["ARTIFACTS", "DEFAULT_MODEL", "screenshot", "start_server"]


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
