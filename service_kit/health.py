"""Liveness and readiness endpoints, the same for every process."""

import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from service_kit.problems import Problem

log = logging.getLogger(__name__)
ReadinessCheck = Callable[[], Awaitable[None]]


def health_router(is_ready: ReadinessCheck) -> APIRouter:
    """`/healthz`: the process serves. `/readyz`: it has started and prepared what it needs."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness", response_model=None)
    async def readyz() -> dict[str, str] | JSONResponse:
        try:
            await is_ready()
        except Exception as error:  # any failure means "not ready"; the reason goes to the log
            log.warning("not ready: %r", error)
            return Problem(
                HTTPStatus.SERVICE_UNAVAILABLE,
                "Not ready: still preparing MongoDB.",
                slug="not-ready",
            ).response()
        return {"status": "ready"}

    return router
