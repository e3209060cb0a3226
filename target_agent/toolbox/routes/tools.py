"""``POST /tools/{name}``: the simulated tools, behind the fault injector."""

from __future__ import annotations

import time

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import JSONResponse

from faults.inject import InjectedFault, InjectedReset
from faults.model import tool_target
from target_agent.toolbox.answer import json_answer, reset
from target_agent.toolbox.catalogue import TOOLS
from target_agent.toolbox.deps import ToolboxDep
from target_agent.toolbox.tools import ToolRequest, tool_answer

router = APIRouter(tags=["tools"])


@router.post("/tools/{name}", response_model=None)
async def call_tool(
    name: str, body: ToolRequest, request: Request, toolbox: ToolboxDep
) -> Response:
    """Answer ``name`` for ``body.service`` from the catalogue, unless a fault says otherwise."""
    if name not in TOOLS:
        raise HTTPException(
            404, detail=f"unknown tool {name!r}: expected one of {', '.join(TOOLS)}"
        )
    incident = toolbox.incidents.get(body.service)
    if incident is None:
        raise HTTPException(
            404, detail=f"unknown service {body.service!r}: no incident in the catalogue"
        )
    target = tool_target(name)
    try:
        fault = await toolbox.injector.apply(target, request.is_disconnected)
    except InjectedFault as exc:
        toolbox.metrics.record(target, exc.result)
        return JSONResponse({"detail": exc.message}, exc.status, headers=exc.headers)
    except InjectedReset as exc:
        toolbox.metrics.record(target, exc.result)
        return await reset(request, exc)
    lie = fault is not None and fault.spec.lie
    # A JSONResponse skips FastAPI's jsonable_encoder pass: this is the hot path of a load test.
    # Whole seconds: a fixed-width value, so token counts of the messages that carry it are
    # deterministic (a float's repr varies in length with the clock).
    answer = tool_answer(incident, name, lie, float(int(time.time())))
    response, result = json_answer(answer, fault, "lie" if lie else "ok")
    toolbox.metrics.record(target, result)
    return response
