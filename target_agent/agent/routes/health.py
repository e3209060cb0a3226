"""Liveness, readiness and metrics of this worker."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from target_agent.agent.deps import RuntimeDep
from target_agent.agent.weaknesses import Weakness

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive (never depends on anything else)."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    """This replica can take work: not draining, not overloaded. Never Redis (unless weakened)."""
    reason = None
    if runtime.lifecycle.draining:
        reason = "draining"
    elif runtime.admission.overloaded:
        reason = runtime.admission.refusal()
    elif runtime.settings.weakness == Weakness.READINESS_ON_REDIS and not await runtime.store.ping(
        runtime.settings.redis_timeout_s
    ):
        reason = "redis unavailable (readiness_on_redis)"
    if reason is not None:
        return JSONResponse({"ready": False, "reason": reason}, status_code=503)
    return JSONResponse({"ready": True})


@router.get("/metrics")
async def metrics(runtime: RuntimeDep) -> Response:
    """Prometheus exposition, merged over all workers in multiprocess mode."""
    return Response(runtime.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
