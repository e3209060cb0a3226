"""A fake agent whose every answer is chosen by the incident, so one Locust run sees all outcomes.

Incident ``n`` of the catalogue gets behaviour ``MODES[n % len(MODES)]`` (or ``FAKE_AGENT_MODE``
for all); the behaviour is echoed in ``X-Served-By: fake-<mode>`` (and the ``replica`` field),
so a test can check each recorded row's outcome against :data:`EXPECTED`. ``FAKE_AGENT_DELAY_S``
delays every answer (timeouts). ``FAKE_AGENT_STALL_S`` (with ``FAKE_AGENT_STALL_AFTER_S``, default
3) stalls the whole server once, that many seconds after its first investigation: the event loop
is blocked (``time.sleep``), so no connection is served meanwhile, as in a long GC pause or a
blocked worker. Run: ``uvicorn tests.loadtests.fake_agent:app``.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from target_agent.toolbox.catalogue import by_service, catalogue

#: mode -> the outcome the reference profile must give it
EXPECTED: dict[str, str] = {
    "correct": "correct",
    "wrong": "wrong",
    "degraded": "degraded",
    "degraded_wrong": "wrong",
    "shed": "shed",
    "shed_bare": "error",
    "error500": "error",
    "malformed": "error",
    "missing": "error",
}
MODES = tuple(EXPECTED)

app = FastAPI()
_records: dict[str, dict[str, Any]] = {}
_ids = itertools.count(1)
_stall: dict[str, float] = {}  # "first": monotonic time of the first investigation; "done"


def _maybe_stall() -> None:
    """Block the whole server once, FAKE_AGENT_STALL_AFTER_S after the first investigation."""
    stall_s = float(os.environ.get("FAKE_AGENT_STALL_S", "0"))
    if not stall_s or "done" in _stall:
        return
    now = time.monotonic()
    first = _stall.setdefault("first", now)
    if now - first >= float(os.environ.get("FAKE_AGENT_STALL_AFTER_S", "3")):
        _stall["done"] = now
        time.sleep(stall_s)  # on purpose: blocks the event loop, every connection waits


def _mode(service: str) -> str:
    forced = os.environ.get("FAKE_AGENT_MODE")
    if forced:
        return forced
    index = next(i for i, inc in enumerate(catalogue()) if inc.service == service)
    return MODES[index % len(MODES)]


@app.get("/readyz")
async def readyz() -> dict[str, str]:
    return {"status": "ready"}


@app.post("/investigate")
async def investigate(request: Request) -> Response:
    _maybe_stall()
    delay = float(os.environ.get("FAKE_AGENT_DELAY_S", "0"))
    if delay:
        await asyncio.sleep(delay)
    alert = await request.json()
    incident = by_service(alert["service"])
    assert incident is not None
    mode = _mode(incident.service)
    headers = {"X-Served-By": f"fake-{mode}"}
    if mode == "shed":
        return JSONResponse({"detail": "overloaded"}, 429, {**headers, "Retry-After": "1"})
    if mode == "shed_bare":
        return JSONResponse({"detail": "overloaded"}, 503, headers)
    if mode == "error500":
        return JSONResponse({"detail": "boom"}, 500, headers)
    if mode == "malformed":
        return Response("{not json", 200, headers, media_type="application/json")
    if mode == "missing":
        return JSONResponse({"status": "complete"}, 200, headers)
    record = {
        "investigation_id": f"inv-{next(_ids)}",
        "status": "degraded" if mode.startswith("degraded") else "complete",
        "root_cause": {
            "correct": incident.root_cause,
            "wrong": incident.decoy_cause,
            "degraded": None,
            "degraded_wrong": incident.decoy_cause,
        }[mode],
        "suspected_root_cause": None,
        "evidence": {},
        "missing_evidence": ["get_logs"] if mode == "degraded" else [],
        "stale_evidence": [],
        "tokens": 120,
        "cost_usd": 0.00012,
        "retries": 1,
        "replica": f"fake-{mode}",
        "alert": alert,
    }
    _records[record["investigation_id"]] = record
    return JSONResponse(record, 200, headers)


@app.get("/investigations/{investigation_id}")
async def lookup(investigation_id: str) -> Response:
    headers = {"X-Served-By": "fake-lookup"}
    record = _records.get(investigation_id)
    if record is None:
        return JSONResponse({"detail": "not found"}, 404, headers)
    return JSONResponse(record, 200, headers)
