"""Liveness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response

from target_agent.toolbox.deps import ToolboxDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/metrics")
async def metrics(toolbox: ToolboxDep) -> Response:
    return Response(toolbox.metrics.render(), media_type=toolbox.metrics.content_type)
