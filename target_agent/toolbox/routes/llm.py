"""The OpenAI-compatible endpoints: ``POST /v1/chat/completions`` and ``GET /v1/models``.

Errors use OpenAI's shape, ``{"error": {"message", "type", "param", "code"}}``, so OpenAI clients
raise their usual typed exceptions (``RateLimitError``, ``InternalServerError``...). With
``stream: true`` the answer is a server-sent event stream (``llm.stream_chunks``) shaped by the
fault's stream knobs (``faults.stream``); a cut stream drops the connection mid-answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from faults.asgi import abort
from faults.inject import InjectedFault, InjectedReset
from faults.model import LLM_TARGET
from faults.store import ActiveFault
from faults.stream import StreamCut, StreamReport, shape
from target_agent.toolbox import llm
from target_agent.toolbox.answer import json_answer, reset
from target_agent.toolbox.deps import Toolbox, ToolboxDep

router = APIRouter(prefix="/v1", tags=["llm"])

SSE_HEADERS = {"Cache-Control": "no-cache"}


def openai_error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    if status == 429:
        kind, code = "rate_limit_error", "rate_limit_exceeded"
    elif status >= 500:
        kind, code = "server_error", f"http_{status}"
    else:
        kind, code = "invalid_request_error", f"http_{status}"
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return JSONResponse(body, status, headers=headers)


async def _replay(events: list[bytes]) -> AsyncIterator[bytes]:
    for event in events:
        yield event


def stream_answer(
    completion: llm.Completion, fault: ActiveFault | None, request: Request, toolbox: Toolbox
) -> StreamingResponse:
    """The completion as an SSE stream, the fault's stream knobs applied; counted at its end."""
    events = llm.sse(llm.stream_chunks(completion.body))
    if fault is None or not fault.spec.shapes_stream:
        toolbox.metrics.record(LLM_TARGET, completion.result)
        return StreamingResponse(_replay(events), media_type="text/event-stream")
    report = StreamReport()

    async def shaped() -> AsyncIterator[bytes]:
        try:
            async for event in shape(_replay(events), fault.spec, report):
                yield event
        except StreamCut as exc:
            await abort(request.receive, str(exc), rst=False)
        finally:
            result = report.result
            toolbox.metrics.record(LLM_TARGET, completion.result if result == "ok" else result)

    return StreamingResponse(shaped(), media_type="text/event-stream", headers=SSE_HEADERS)


@router.post("/chat/completions", response_model=None)
async def chat_completions(
    body: llm.ChatRequest, request: Request, toolbox: ToolboxDep
) -> Response:
    """One planner or reasoner turn, as one JSON body or (``stream: true``) as SSE chunks."""
    try:
        fault = await toolbox.injector.apply(LLM_TARGET, request.is_disconnected)
    except InjectedFault as exc:
        toolbox.metrics.record(LLM_TARGET, exc.result)
        return openai_error(exc.status, exc.message, exc.headers)
    except InjectedReset as exc:
        toolbox.metrics.record(LLM_TARGET, exc.result)
        return await reset(request, exc)
    completion = llm.complete(
        body,
        toolbox.incidents,
        model=body.model or toolbox.settings.model,
        hallucinating=fault is not None and fault.spec.hallucinate,
    )
    toolbox.injector.charge(fault, completion.body["usage"]["total_tokens"])
    if body.stream:
        return stream_answer(completion, fault, request, toolbox)
    response, result = json_answer(completion.body, fault, completion.result)
    toolbox.metrics.record(LLM_TARGET, result)
    return response


@router.get("/models")
async def list_models(toolbox: ToolboxDep) -> dict[str, Any]:
    model = toolbox.settings.model
    return {
        "object": "list",
        "data": [{"id": model, "object": "model", "created": 0, "owned_by": "stampede"}],
    }
