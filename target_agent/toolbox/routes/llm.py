"""The OpenAI-compatible endpoints: ``POST /v1/chat/completions`` and ``GET /v1/models``.

Errors use OpenAI's shape, ``{"error": {"message", "type", "param", "code"}}``, so OpenAI clients
raise their usual typed exceptions (``RateLimitError``, ``InternalServerError``...).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from target_agent.toolbox import llm
from target_agent.toolbox.deps import ToolboxDep
from target_agent.toolbox.faults import LLM_TARGET
from target_agent.toolbox.injection import InjectedFault

router = APIRouter(prefix="/v1", tags=["llm"])

STREAMING_UNSUPPORTED = "streaming not supported: send stream=false"


def openai_error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    if status == 429:
        kind, code = "rate_limit_error", "rate_limit_exceeded"
    elif status >= 500:
        kind, code = "server_error", f"http_{status}"
    else:
        kind, code = "invalid_request_error", f"http_{status}"
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return JSONResponse(body, status, headers=headers)


@router.post("/chat/completions", response_model=None)
async def chat_completions(
    body: llm.ChatRequest, request: Request, toolbox: ToolboxDep
) -> JSONResponse:
    """One planner or reasoner turn (non-streaming only)."""
    if body.stream:
        return openai_error(400, STREAMING_UNSUPPORTED)
    try:
        fault = await toolbox.injector.apply(LLM_TARGET, request.is_disconnected)
    except InjectedFault as exc:
        toolbox.metrics.record(LLM_TARGET, exc.result)
        return openai_error(exc.status, exc.message, exc.headers)
    completion = llm.complete(
        body,
        toolbox.incidents,
        model=body.model or toolbox.settings.model,
        hallucinating=fault is not None and fault.spec.hallucinate,
    )
    toolbox.metrics.record(LLM_TARGET, completion.result)
    return JSONResponse(completion.body)


@router.get("/models")
async def list_models(toolbox: ToolboxDep) -> dict[str, Any]:
    model = toolbox.settings.model
    return {
        "object": "list",
        "data": [{"id": model, "object": "model", "created": 0, "owned_by": "stampede"}],
    }
