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
from tests.conftest import Server
from tests.target_agent.agent.support import agent_settings, by_service, fresh_db, running_agent

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
    assert job_id != poison
    assert failed["status"] == "failed"
    assert failed["attempts"] == 2
    assert "gave up after 2 attempts (limit 2)" in failed["reason"]
    assert "KeyError: 'service'" in failed["reason"]
    assert pending["pending"] == 0  # dead-lettered entries are acknowledged
    assert procs.LOCALHOST in url
