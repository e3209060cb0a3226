"""``POST /investigations`` (asynchronous: 202 + ``Location``) and ``GET /investigations/{id}``.

A submitted investigation is a job of the durable queue (target_agent/agent/jobs/): accepted
once it is in Redis, then run by whichever worker claims it and resumed by another if that
worker dies. ``GET /investigations/{id}`` answers for both kinds of id: a job's state
(``pending | running | complete | degraded | failed``, ``attempts``, ``resumed_from``, the
answer when done, the reason when failed; ``Retry-After`` while unfinished), else the record
of a synchronous ``POST /investigate`` (the route in ``investigations.py``). A malformed id is
422, an unknown one 404.

Admission: while ``AGENT_JOB_QUEUE_LIMIT`` accepted jobs are unfinished, a new submission is
refused with 503 + ``Retry-After`` and nothing is stored (the queue decides, atomically, in
Redis: ``JobQueue.submit`` raises :class:`QueueFull`); a known ``Idempotency-Key`` still gets
its job. This is the asynchronous counterpart of the synchronous API's load shedding
(``shedding.py``: 503 + ``Retry-After``, never queued), but the bound is the shared queue's,
not one worker's, so it is counted where the jobs are.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Path, Request
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from target_agent.agent.deps import RuntimeDep
from target_agent.agent.jobs import PUBLIC_STATUS, Jobs, QueueFull
from target_agent.agent.routes.investigations import KEY_PATTERN, Alert, get_investigation

router = APIRouter(tags=["investigations"])

ID_PATTERN = r"^[0-9a-f]{32}$"


def _jobs(request: Request, headers: dict[str, str]) -> Jobs:
    jobs: Jobs | None = getattr(request.app.state, "jobs", None)
    if jobs is None:
        raise HTTPException(
            503, detail="durable investigations are disabled (AGENT_JOBS_ENABLED)", headers=headers
        )
    return jobs


@router.post("/investigations", status_code=202)
async def submit_investigation(
    alert: Alert,
    request: Request,
    runtime: RuntimeDep,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", pattern=KEY_PATTERN)
    ] = None,
) -> JSONResponse:
    """Accept an alert for investigation: 202 with its id; poll ``Location`` for the answer."""
    headers = {"X-Served-By": runtime.settings.replica}
    jobs = _jobs(request, headers)
    retry_after = str(runtime.settings.job_retry_after_s)
    try:
        submitted = await jobs.queue.submit(alert.model_dump(exclude_none=True), idempotency_key)
    except QueueFull as exc:
        runtime.metrics.jobs_refused.inc()
        refusal = {
            "detail": f"{exc}; not accepted, retry after {retry_after} s",
            "job_queue_limit": exc.limit,
            "unfinished_jobs": exc.unfinished,
        }
        return JSONResponse(
            refusal, status_code=503, headers={**headers, "Retry-After": retry_after}
        )
    except (RedisError, OSError) as exc:
        raise HTTPException(
            503,
            detail=f"work queue unavailable, not accepted: {type(exc).__name__}",
            headers={**headers, "Retry-After": "1"},
        ) from None
    location = f"/investigations/{submitted.job_id}"
    headers["Location"] = location
    headers["Retry-After"] = retry_after
    if submitted.replayed:
        headers["Idempotent-Replayed"] = "true"
    else:
        runtime.metrics.jobs_submitted.inc()
    body = {"investigation_id": submitted.job_id, "status": "pending", "location": location}
    return JSONResponse(body, status_code=202, headers=headers)


def job_view(job_id: str, job: dict[str, str]) -> dict[str, Any]:
    """The public view of a job's hash: its state, and the answer (or reason) once it ended."""
    status = PUBLIC_STATUS.get(job.get("status", ""), "pending")
    view: dict[str, Any] = {}
    if "record" in job and status in ("complete", "degraded"):
        view.update(json.loads(job["record"]))
    view.update(
        {
            "investigation_id": job_id,
            "status": status,
            "attempts": int(job.get("attempts", 0)),
            "resumed_from": job.get("resumed_from") or None,
            "resumes": int(job.get("resumes", 0)),
            "completions": int(job.get("completions", 0)),
            "duplicate_completions": int(job.get("duplicate_completions", 0)),
            "submitted_at": float(job.get("created_at", 0)),
            "finished_at": float(job["finished_at"]) if "finished_at" in job else None,
        }
    )
    if status == "failed":
        view["reason"] = job.get("reason", "")
    elif job.get("last_error"):
        view["last_error"] = job["last_error"]
    return view


@router.get("/investigations/{investigation_id}")
async def get_job_or_record(
    investigation_id: Annotated[str, Path(pattern=ID_PATTERN)],
    request: Request,
    runtime: RuntimeDep,
) -> JSONResponse:
    """A durable investigation's state, else a synchronous investigation's record; 404."""
    headers = {"X-Served-By": runtime.settings.replica}
    jobs: Jobs | None = getattr(request.app.state, "jobs", None)
    job = None
    if jobs is not None:
        try:
            job = await jobs.queue.load(investigation_id)
        except (RedisError, OSError):  # the record route says 503 unless this worker has it
            job = None
    if job is None:
        return await get_investigation(investigation_id, runtime)
    view = job_view(investigation_id, job)
    if view["status"] in ("pending", "running"):
        headers["Retry-After"] = str(runtime.settings.job_retry_after_s)
    return JSONResponse(view, headers=headers)
