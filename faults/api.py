"""The fault API, one router for every server: ``GET/PUT/DELETE /faults[/{target}]``.

``fault_router(get_store, get_token, no_token=...)`` builds it; the server says where its store
and admin token live. Every route needs ``Authorization: Bearer <admin token>`` (401 without,
with ``WWW-Authenticate: Bearer``); a server with no token configured answers 401 to everyone
(fail closed). The token is compared in constant time and never logged.

``validation_error`` renders a 422 that is always valid JSON: FastAPI's default handler echoes
the offending input, and Python's JSON parser accepts ``NaN``/``Infinity`` (and ``1e400``),
which the response encoder then refuses — a body like ``{"latency_ms": 1e400}`` would turn into
a 500. This handler renders such values as strings.
"""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from faults.model import FaultSpec, InvalidFault, UnknownTarget
from faults.store import FaultStore

BAD_TOKEN = "missing or invalid bearer token"
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def check_bearer(expected: str | None, authorization: str | None, no_token: str) -> None:
    """Raise 401 unless ``authorization`` is ``Bearer <expected>`` (and ``expected`` is set)."""
    if not expected:
        raise HTTPException(401, detail=no_token, headers=_CHALLENGE)
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(
        given.strip().encode(), expected.encode()
    ):
        raise HTTPException(401, detail=BAD_TOKEN, headers=_CHALLENGE)


def fault_router(
    get_store: Callable[[Request], FaultStore],
    get_token: Callable[[Request], str | None],
    no_token: str,
    logger: logging.Logger,
) -> APIRouter:
    """The ``/faults`` routes on the store ``get_store`` returns, behind ``get_token``'s token."""

    def require_admin(request: Request, authorization: str | None = Header(default=None)) -> None:
        check_bearer(get_token(request), authorization, no_token)

    router = APIRouter(prefix="/faults", tags=["faults"], dependencies=[Depends(require_admin)])

    @router.get("")
    async def list_faults(store: FaultStore = Depends(get_store)) -> dict[str, Any]:
        """Every unexpired fault with its ``expires_at`` (epoch seconds)."""
        return {"faults": {target: fault.as_dict() for target, fault in store.active().items()}}

    @router.put("/{target}")
    async def put_fault(
        target: str, spec: FaultSpec, store: FaultStore = Depends(get_store)
    ) -> dict[str, Any]:
        """Set (replace) the fault on ``target``."""
        try:
            fault = store.put(target, spec)
        except UnknownTarget as exc:
            raise HTTPException(404, detail=str(exc)) from exc
        except InvalidFault as exc:
            raise HTTPException(422, detail=str(exc)) from exc
        logger.info("fault set on %s: %s", target, spec.model_dump(exclude_defaults=True))
        return {"target": target, **fault.as_dict()}

    @router.delete("/{target}")
    async def clear_fault(target: str, store: FaultStore = Depends(get_store)) -> dict[str, Any]:
        """Clear the fault on ``target`` (idempotent: nothing set -> ``cleared: []``)."""
        try:
            cleared = store.clear(target)
        except UnknownTarget as exc:
            raise HTTPException(404, detail=str(exc)) from exc
        logger.info("fault cleared on %s", target)
        return {"cleared": cleared}

    @router.delete("")
    async def clear_faults(store: FaultStore = Depends(get_store)) -> dict[str, Any]:
        """Clear every fault."""
        cleared = store.clear_all()
        logger.info("all faults cleared: %s", cleared)
        return {"cleared": cleared}

    return router


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
