"""Turning an answer body into a response under the fault in force (content faults, reset).

``json_answer`` applies ``json_rules``, the LLM rewrites and ``corrupt_body`` to a JSON body and
names the call's ``toolbox_calls_total`` result; ``reset`` drops the connection (see
``faults.asgi``). Without a fault the body goes out as a plain ``JSONResponse`` (the hot path).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from faults.asgi import abort
from faults.content import apply_rules, corrupt, rewrite_completion
from faults.inject import InjectedReset
from faults.store import ActiveFault


def json_answer(body: Any, fault: ActiveFault | None, result: str) -> tuple[Response, str]:
    """The response carrying ``body`` and the call's result label, content faults applied."""
    if fault is None:
        return JSONResponse(body), result
    spec = fault.spec
    if spec.json_rules:
        body, written = apply_rules(body, spec.json_rules)
        result = "rewritten" if written else result
    if spec.rewrites_llm and rewrite_completion(body, spec):
        result = "rewritten"
    if spec.corrupt_body is None:
        return JSONResponse(body), result
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(corrupt(raw, spec.corrupt_body), media_type="application/json"), "corrupt"


async def reset(request: Request, exc: InjectedReset) -> Response:
    """Reset the client's connection; the empty response is never sent (nobody to send to)."""
    await abort(request.receive, str(exc))
    return Response(status_code=204)
