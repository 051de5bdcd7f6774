"""Health and metrics routes shared by every HTTP app."""

from __future__ import annotations

from fastapi import APIRouter

from ias_serve import __version__
from ias_serve.protocol.health import HealthPublic


def health_router(app_name: str) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/health", response_model=HealthPublic, summary="Liveness of this app")
    async def health() -> HealthPublic:
        return HealthPublic(status="ok", app=app_name, version=__version__)

    return router
