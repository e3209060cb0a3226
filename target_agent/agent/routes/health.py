"""Liveness, readiness and metrics of this worker."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import Metric
from redis.exceptions import RedisError

from target_agent.agent.deps import RuntimeDep
from target_agent.agent.jobs import Jobs
from target_agent.agent.metrics import jobs_open
from target_agent.agent.weaknesses import Weakness

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)


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
async def metrics(request: Request, runtime: RuntimeDep) -> Response:
    """Prometheus exposition, merged over all workers in multiprocess mode.

    Plus ``agent_jobs_open``, read from Redis now (absent if Redis does not answer within
    ``AGENT_REDIS_TIMEOUT_S``: a stale count would look current).
    """
    read_now: list[Metric] = []
    jobs: Jobs | None = getattr(request.app.state, "jobs", None)
    if jobs is not None:
        try:
            async with asyncio.timeout(runtime.settings.redis_timeout_s):
                read_now.append(jobs_open(await jobs.queue.open_jobs()))
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("agent_jobs_open not exported: %s: %s", type(exc).__name__, exc)
    return Response(runtime.metrics.exposition(*read_now), media_type=CONTENT_TYPE_LATEST)
