"""The asynchronous API in-process (real lifespan, real Redis, real toolbox, real checkpoints)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from stampede import procs
from target_agent.agent.jobs.queue import GROUP
from target_agent.agent.settings import Settings
from tests.conftest import Server
from tests.target_agent.agent.support import (
    agent_settings,
    by_service,
    clear_faults,
    fresh_db,
    metric_value,
    running_agent,
    set_fault,
)

pytestmark = pytest.mark.anyio


async def poll(client: httpx.AsyncClient, location: str, timeout_s: float = 30) -> dict[str, Any]:
    """GET ``location`` until the job has ended; the final view."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout_s
    while loop.time() < end:
        response = await client.get(location)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] not in ("pending", "running"):
            assert "Retry-After" not in response.headers
            return body
        assert response.headers["Retry-After"] == "1"
        await asyncio.sleep(0.05)
    raise AssertionError(f"{location} did not finish in {timeout_s} s")


async def test_submit_returns_202_and_the_answer_arrives(
    toolbox: Server, shared_redis: Server, tmp_path: Path
) -> None:
    """202 + Location; the job ends complete with the sync route's answer fields."""
    settings = agent_settings(
        toolbox, fresh_db(shared_redis, 6), checkpoint_path=str(tmp_path / "cp.sqlite")
    )
    incident = by_service("checkout")
    async with running_agent(settings) as (client, _):
        response = await client.post("/investigations", json=incident.alert())
        assert response.status_code == 202, response.text
        body = response.json()
        assert response.headers["Location"] == f"/investigations/{body['investigation_id']}"
        final = await poll(client, response.headers["Location"])
    assert final["status"] == "complete"
    assert final["root_cause"] == incident.root_cause
    assert final["attempts"] == 1
    assert final["resumed_from"] is None
    assert final["tokens"] > 0


async def test_same_idempotency_key_gives_the_same_job(
    toolbox: Server, shared_redis: Server, tmp_path: Path
) -> None:
    settings = agent_settings(
        toolbox, fresh_db(shared_redis, 6), checkpoint_path=str(tmp_path / "cp.sqlite")
    )
    alert = by_service("checkout").alert()
    async with running_agent(settings) as (client, _):
        first = await client.post("/investigations", json=alert, headers={"Idempotency-Key": "k1"})
        again = await client.post("/investigations", json=alert, headers={"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 202
    assert first.json()["investigation_id"] == again.json()["investigation_id"]
    assert again.headers["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/investigations/0123456789abcdef0123456789abcdef", 404),
        ("/investigations/not-an-id", 422),
        ("/investigations/" + "a" * 33, 422),
        ("/investigations/%00", 422),
    ],
    ids=["unknown", "malformed", "too-long", "nul"],
)
async def test_malformed_or_unknown_id_is_4xx(
    toolbox: Server, shared_redis: Server, tmp_path: Path, path: str, status: int
) -> None:
    settings = agent_settings(
        toolbox, fresh_db(shared_redis, 6), checkpoint_path=str(tmp_path / "cp.sqlite")
    )
    async with running_agent(settings) as (client, _):
        response = await client.get(path)
    assert response.status_code == status, response.text


async def test_a_job_that_fails_every_attempt_ends_failed_with_its_reason(
    toolbox: Server, shared_redis: Server, tmp_path: Path
) -> None:
    """A poison job (its stored alert lacks ``service``) is dead-lettered after 2 attempts."""
    url = fresh_db(shared_redis, 6)
    settings = agent_settings(
        toolbox,
        url,
        checkpoint_path=str(tmp_path / "cp.sqlite"),
        job_max_attempts=2,
        job_visibility_timeout_s=0.5,
        job_block_s=0.2,
    )
    async with running_agent(settings) as (client, _runtime):
        response = await client.post("/investigations", json=by_service("checkout").alert())
        job_id = response.json()["investigation_id"]
        final = await poll(client, response.headers["Location"])  # a healthy job first
        assert final["status"] == "complete"
        raw = redis.Redis.from_url(url)
        poison = "f" * 32
        key = f"{settings.job_stream}:job:{poison}"
        raw.hset(key, mapping={"status": "pending", "attempts": 0, "created_at": 1,
                               "alert": json.dumps({"alert_type": "HighLatency"})})  # fmt: skip
        raw.xadd(settings.job_stream, {"job": poison})
        failed = await poll(client, f"/investigations/{poison}")
        pending = raw.xpending(settings.job_stream, GROUP)
        metrics = (await client.get("/metrics")).text
        unfinished = raw.scard(f"{settings.job_stream}:open")
    assert job_id != poison
    assert failed["status"] == "failed"
    assert failed["attempts"] == 2
    assert "gave up after 2 attempts (limit 2)" in failed["reason"]
    assert "KeyError: 'service'" in failed["reason"]
    assert pending["pending"] == 0  # dead-lettered entries are acknowledged
    # Attempt 1 was read (XREADGROUP); attempts 2 and 3 (the one that dead-letters) were taken
    # over with XAUTOCLAIM after the visibility timeout. The poison job was never submitted.
    assert metric_value(metrics, "agent_jobs_reclaimed_total") == 2
    assert metric_value(metrics, "agent_jobs_dead_lettered_total") == 1
    assert metric_value(metrics, "agent_jobs_submitted_total") == 1
    assert metric_value(metrics, "agent_jobs_completed_total", status="complete") == 1
    assert metric_value(metrics, "agent_jobs_completed_total") == 1
    assert metric_value(metrics, "agent_jobs_resumed_total") == 0
    assert unfinished == 0  # the healthy job left the open set; the poison one never was in it
    assert procs.LOCALHOST in url


async def slow_agent_with_limit(
    toolbox: Server, shared_redis: Server, tmp_path: Path, limit: int
) -> tuple[str, Settings, dict[str, Any]]:
    """(Redis URL, settings with ``job_queue_limit``, an alert); LLM calls slowed to 1 s so the
    accepted jobs stay unfinished while the test submits more."""
    url = fresh_db(shared_redis, 6)
    settings = agent_settings(
        toolbox, url, checkpoint_path=str(tmp_path / "cp.sqlite"), job_queue_limit=limit
    )
    await set_fault(toolbox, "llm", latency_ms=1000)
    return url, settings, by_service("checkout").alert()


async def test_a_full_queue_refuses_new_jobs_with_503_and_stores_nothing(
    toolbox: Server, shared_redis: Server, tmp_path: Path
) -> None:
    """Limit 2 reached: 503 + Retry-After, nothing stored; a known key is 202; then accepted."""
    url, settings, alert = await slow_agent_with_limit(toolbox, shared_redis, tmp_path, 2)
    raw = redis.Redis.from_url(url)
    async with running_agent(settings) as (client, _):
        accepted = [
            await client.post("/investigations", json=alert, headers={"Idempotency-Key": key})
            for key in ("k0", "k1")
        ]
        refused = await client.post(
            "/investigations", json=alert, headers={"Idempotency-Key": "k-late"}
        )
        stored = raw.xlen(settings.job_stream), raw.exists(f"{settings.job_stream}:idem:k-late")
        full_metrics = (await client.get("/metrics")).text
        running = await running_jobs_reach(client, 2)  # both started: LLM calls take 1 s
        replay = await client.post("/investigations", json=alert, headers={"Idempotency-Key": "k0"})
        views = [(await client.get(r.headers["Location"])).json() for r in accepted]
        await clear_faults(toolbox)
        finals = [await poll(client, r.headers["Location"]) for r in accepted]
        again = await client.post(
            "/investigations", json=alert, headers={"Idempotency-Key": "k-late"}
        )
        final_again = await poll(client, again.headers["Location"])
        metrics = (await client.get("/metrics")).text
    assert [r.status_code for r in accepted] == [202, 202]
    assert all(view["status"] in ("pending", "running") for view in views)  # full while refused
    assert refused.status_code == 503, refused.text
    assert refused.headers["Retry-After"] == "1"
    assert "Location" not in refused.headers
    assert refused.json() == {
        "detail": "job queue full: 2 accepted jobs not yet finished (AGENT_JOB_QUEUE_LIMIT=2); "
        "not accepted, retry after 1 s",
        "job_queue_limit": 2,
        "unfinished_jobs": 2,
    }
    assert stored == (2, 0)  # the refused job: no stream entry, no Idempotency-Key
    assert replay.status_code == 202, replay.text
    assert replay.json()["investigation_id"] == accepted[0].json()["investigation_id"]
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert [final["status"] for final in finals] == ["complete", "complete"]
    assert again.status_code == 202, again.text  # room again once the jobs finished
    assert "Idempotent-Replayed" not in again.headers  # the refused key was never stored
    assert final_again["status"] == "complete"
    assert metric_value(metrics, "agent_jobs_submitted_total") == 3
    assert metric_value(metrics, "agent_jobs_refused_total") == 1
    assert open_jobs(full_metrics) == 2.0  # read from Redis at the scrape: the limit reached
    assert open_jobs(metrics) == 0.0  # all three answered
    assert running == 2.0 and metric_value(metrics, "agent_jobs_running") == 0.0
    assert metric_value(metrics, "agent_jobs_completed_total", status="complete") == 3
    assert metric_value(metrics, "agent_jobs_dead_lettered_total") == 0


async def running_jobs_reach(client: httpx.AsyncClient, n: float, timeout_s: float = 10) -> float:
    """``agent_jobs_running`` once it is ``n`` (polled, bounded); its last value otherwise."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout_s
    while True:
        value = metric_value((await client.get("/metrics")).text, "agent_jobs_running")
        if value == n or loop.time() > end:
            return value
        await asyncio.sleep(0.05)


def open_jobs(text: str) -> float | None:
    """``agent_jobs_open`` of an exposition; None when it is absent (not 0, as metric_value)."""
    found = [line.split()[1] for line in text.splitlines() if line.startswith("agent_jobs_open ")]
    assert len(found) <= 1, found
    return float(found[0]) if found else None


async def test_metrics_leave_the_open_jobs_gauge_out_when_redis_does_not_answer(
    toolbox: Server, tmp_path: Path
) -> None:
    """Nothing listens on the Redis port: /metrics still answers, without agent_jobs_open."""
    url = f"redis://{procs.LOCALHOST}:{procs.free_port()}/0"
    settings = agent_settings(toolbox, url, checkpoint_path=str(tmp_path / "cp.sqlite"))
    async with running_agent(settings) as (client, _):
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert "agent_jobs_submitted_total" in response.text  # the rest of the exposition is there
    assert open_jobs(response.text) is None


async def test_concurrent_submissions_never_overshoot_the_limit(
    toolbox: Server, shared_redis: Server, tmp_path: Path
) -> None:
    """20 submissions at once against a limit of 5: exactly 5 accepted (checked in one script)."""
    url, settings, alert = await slow_agent_with_limit(toolbox, shared_redis, tmp_path, 5)
    async with running_agent(settings) as (client, _):
        answers = await asyncio.gather(
            *(client.post("/investigations", json=alert) for _ in range(20))
        )
        entries = redis.Redis.from_url(url).xlen(settings.job_stream)
        await clear_faults(toolbox)
        codes = sorted(answer.status_code for answer in answers)
        for answer in answers:
            if answer.status_code == 202:
                assert (await poll(client, answer.headers["Location"]))["status"] == "complete"
    assert codes == [202] * 5 + [503] * 15
    assert entries == 5
