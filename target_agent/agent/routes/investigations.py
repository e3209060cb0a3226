"""``POST /investigate`` and ``GET /investigations/{id}``."""

from __future__ import annotations

import logging
import time
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from target_agent.agent.deps import AdmissionDep, RuntimeDep
from target_agent.agent.investigator import IdempotencyConflict, IdempotencyPending
from target_agent.agent.store import StoreUnavailable
from target_agent.vocabulary import ALERT_TYPES

log = logging.getLogger(__name__)

router = APIRouter(tags=["investigations"])

SERVICE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
KEY_PATTERN = r"^[\x21-\x7e]{1,200}$"
MAX_LABELS = 50


class Alert(BaseModel):
    """The alert to investigate. ``alert_type`` must be one the agent has a playbook for (422
    otherwise); an unknown ``service`` is accepted and answered ``degraded`` (no evidence)."""

    model_config = ConfigDict(extra="ignore")

    alert_type: str = Field(description=f"one of {', '.join(ALERT_TYPES)}")
    service: str = Field(pattern=SERVICE_PATTERN)
    severity: str | None = Field(default=None, max_length=50)
    summary: str | None = Field(default=None, max_length=2000)
    labels: dict[str, Annotated[str, Field(max_length=500)]] | None = None

    @field_validator("alert_type")
    @classmethod
    def _known_alert_type(cls, value: str) -> str:
        if value not in ALERT_TYPES:
            raise ValueError(
                f"unknown alert_type {value!r}; expected one of {', '.join(ALERT_TYPES)}"
            )
        return value

    @field_validator("labels")
    @classmethod
    def _few_labels(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is not None:
            if len(value) > MAX_LABELS:
                raise ValueError(f"at most {MAX_LABELS} labels, got {len(value)}")
            if any(len(key) > 100 for key in value):
                raise ValueError("label names must be at most 100 characters")
        return value


@router.post("/investigate")
async def investigate(
    alert: Alert,
    runtime: RuntimeDep,
    admission: AdmissionDep,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", pattern=KEY_PATTERN)
    ] = None,
) -> JSONResponse:
    """Investigate an alert; 200 with the answer (``complete`` or honestly ``degraded``)."""
    metrics, replica = runtime.metrics, runtime.settings.replica
    started = time.perf_counter()
    headers = {"X-Served-By": replica}
    try:
        outcome = await runtime.investigator.investigate(
            alert.model_dump(exclude_none=True), idempotency_key
        )
    except IdempotencyPending as exc:
        metrics.requests.labels("error").inc()
        raise HTTPException(409, detail=str(exc), headers={**headers, "Retry-After": "1"}) from None
    except IdempotencyConflict as exc:
        metrics.requests.labels("error").inc()
        raise HTTPException(422, detail=str(exc), headers=headers) from None
    except Exception as exc:
        log.exception("investigation failed")
        metrics.requests.labels("error").inc()
        raise HTTPException(
            503,
            detail=f"investigation failed: {type(exc).__name__}",
            headers={**headers, "Retry-After": "1"},
        ) from None
    finally:
        metrics.latency.observe(time.perf_counter() - started)
    record = outcome.record
    metrics.requests.labels(record["status"]).inc()
    if outcome.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(record, headers=headers)


@router.get("/investigations/{investigation_id}")
async def get_investigation(investigation_id: str, runtime: RuntimeDep) -> JSONResponse:
    """The stored record (Redis, else this worker's write-behind buffer); 404 if unknown."""
    headers = {"X-Served-By": runtime.settings.replica}
    try:
        record: dict[str, Any] | None = await runtime.store.load(investigation_id)
    except StoreUnavailable:
        raise HTTPException(
            503,
            detail=f"record store unavailable; investigation {investigation_id} not in this worker",
            headers={**headers, "Retry-After": "1"},
        ) from None
    if record is None:
        raise HTTPException(404, detail=f"no investigation {investigation_id}", headers=headers)
    return JSONResponse(record, headers=headers)
