"""Error rendering shared by every route: a 422 is always valid JSON, never a 500.

FastAPI's default validation handler echoes the offending input, and Python's JSON parser
accepts ``NaN``/``Infinity`` (and ``1e400``), which the response encoder then refuses — a body
like ``{"latency_ms": 1e400}`` would turn into a 500. This handler renders such values as
strings.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 with pydantic's error list, made JSON-safe."""
    assert isinstance(exc, RequestValidationError)
    try:
        detail = jsonable_encoder(exc.errors())
    except (TypeError, ValueError):
        detail = [
            {"type": e.get("type"), "loc": list(e.get("loc", ())), "msg": e.get("msg")}
            for e in exc.errors()
        ]
    return JSONResponse({"detail": _json_safe(detail)}, status_code=422)
