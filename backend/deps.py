"""Request dependencies: the app's model store and settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from backend.registry import ModelStore
from backend.settings import Settings


def get_store(request: Request) -> ModelStore:
    return request.app.state.store


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


Store = Annotated[ModelStore, Depends(get_store)]
ServiceSettings = Annotated[Settings, Depends(get_settings)]
