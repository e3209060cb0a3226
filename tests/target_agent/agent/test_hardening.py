"""Issue 11's agent hardening: short idempotency locks, 422 on a reused key, 413 before parsing.

Real processes where the claim is about processes (a SIGKILLed worker, a worker's memory): the
agent under uvicorn, the real toolbox (its fault API makes the LLM slow so an investigation is
in flight) and a real Redis.
"""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import redis

from stampede import procs
from tests.conftest import Server
from tests.target_agent.agent.support import (
    agent_settings,
    by_service,
    clear_faults,
    fresh_db,
    incidents,
    running_agent,
    set_fault,
    spawn_agent,
)
from tests.target_agent.rawhttp import MIB, post_huge_body, rss_bytes

pytestmark = pytest.mark.anyio

HUGE = 50 * MIB


def _redis(server: Server, db: int) -> redis.Redis:
    return redis.Redis(host=procs.LOCALHOST, port=server.port, db=db)


def _wait_for(condition: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {timeout_s} s")
        time.sleep(0.05)


# -- idempotency ---------------------------------------------------------------------------------


async def test_the_same_key_with_another_body_is_422_and_the_first_answer_is_replayed(
    toolbox: Server, shared_redis: Server
) -> None:
    """A key is bound to its body's digest: another alert under it is refused, naming the key."""
    first_alert, other_alert = incidents()[0].alert(), incidents()[1].alert()
    settings = agent_settings(toolbox, fresh_db(shared_redis, 5))
    async with running_agent(settings) as (client, _):
        key = {"Idempotency-Key": "same-key"}
        first = await client.post("/investigate", json=first_alert, headers=key)
        other = await client.post("/investigate", json=other_alert, headers=key)
        again = await client.post("/investigate", json=first_alert, headers=key)
    assert first.status_code == 200, first.text
    assert other.status_code == 422, other.text
    assert other.json()["detail"] == (
        "Idempotency-Key 'same-key' was already used with a different request body; "
        "use a new key for a different alert"
    )
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["investigation_id"] == first.json()["investigation_id"]


async def test_a_claim_is_a_short_lock_until_the_record_is_saved(
    toolbox: Server, shared_redis: Server
) -> None:
    """While in flight the key is locked for deadline + margin; once saved, for the record TTL."""
    await set_fault(toolbox, "llm", latency_ms=800)
    settings = agent_settings(toolbox, fresh_db(shared_redis, 6), idempotency_lock_margin_s=1.0)
    lock_ms = settings.idempotency_lock_ttl_s * 1000
    direct = _redis(shared_redis, 6)
    async with running_agent(settings) as (client, _):
        call = asyncio.create_task(
            client.post(
                "/investigate", json=incidents()[0].alert(), headers={"Idempotency-Key": "lock"}
            )
        )
        while not direct.exists("idem:lock"):
            await asyncio.sleep(0.02)
        in_flight_ttl = direct.pttl("idem:lock")
        response = await call
    assert response.status_code == 200, response.text
    assert 0 < in_flight_ttl <= lock_ms
    saved_ttl = direct.pttl("idem:lock")
    assert saved_ttl > settings.record_ttl_s * 1000 - 60_000
    investigation_id = response.json()["investigation_id"]
    stored = direct.get("idem:lock")
    assert isinstance(stored, bytes) and stored.decode().startswith(f"{investigation_id} ")


async def test_a_cancelled_investigation_releases_its_key(
    toolbox: Server, shared_redis: Server
) -> None:
    """asyncio cancellation mid-investigation (a client gone, a shutdown) frees the key at once."""
    await set_fault(toolbox, "llm", latency_ms=3000)
    settings = agent_settings(toolbox, fresh_db(shared_redis, 7), llm_timeout_s=4.0)
    direct = _redis(shared_redis, 7)
    async with running_agent(settings) as (_, runtime):
        task = asyncio.create_task(
            runtime.investigator.investigate(incidents()[0].alert(), "cancel-me")
        )
        while not direct.exists("idem:cancel-me"):
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.2)  # the shielded release runs on
        assert not direct.exists("idem:cancel-me")


def _serving_worker(master: psutil.Process, client_port: int) -> psutil.Process:
    """The uvicorn worker holding the connection that comes from ``client_port``."""
    for worker in procs.spawn_children(master):
        for conn in worker.net_connections(kind="tcp"):
            if conn.raddr and conn.raddr.port == client_port:
                return worker
    raise AssertionError(f"no worker of {master.pid} holds the connection from :{client_port}")


def _send_investigation(url: str, alert: dict[str, Any], key: str) -> socket.socket:
    """Send POST /investigate on a raw socket and leave it waiting for the answer."""
    body = httpx.Request("POST", f"{url}/investigate", json=alert).content
    parts = httpx.URL(url)
    sock = socket.create_connection((parts.host, parts.port), timeout=30)
    sock.sendall(
        (
            f"POST /investigate HTTP/1.1\r\nHost: {parts.host}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"Idempotency-Key: {key}\r\n\r\n"
        ).encode()
        + body
    )
    return sock


def test_a_key_held_by_a_sigkilled_worker_is_served_after_the_lock_ttl(
    toolbox: Server, shared_redis: Server, tmp_path: Path
) -> None:
    """SIGKILL the worker mid-investigation: 409 while its lock lasts, then a retry is served.

    And the same key with another body is 422, the answer is replayed for the first body.
    """
    incident, other = by_service("checkout"), incidents()[3]
    redis_url = fresh_db(shared_redis, 8)
    direct = _redis(shared_redis, 8)
    env = {
        "deadline_s": "6",
        "llm_timeout_s": "5",
        "idempotency_lock_margin_s": "1",
        "idempotency_wait_s": "0.3",
    }
    lock_ms = (6 + 1) * 1000
    proc, url = spawn_agent(toolbox, redis_url, tmp_path / "agent.log", 2, **env)
    try:
        headers = {"Idempotency-Key": "dead-worker"}
        with httpx.Client(base_url=url, timeout=30, trust_env=False) as client:
            asyncio.run(set_fault(toolbox, "llm", latency_ms=4000))
            sock = _send_investigation(url, incident.alert(), "dead-worker")
            _wait_for(lambda: direct.exists("idem:dead-worker"), 10, "the claim")
            master = proc.process()
            assert master is not None
            victim = _serving_worker(master, sock.getsockname()[1])
            victim.kill()
            psutil.wait_procs([victim], timeout=5)
            assert sock.recv(100) == b""  # the investigation died with its worker
            sock.close()

            held_ms = direct.pttl("idem:dead-worker")
            assert 0 < held_ms <= lock_ms  # a lock of seconds, not a day
            pending = client.post("/investigate", json=incident.alert(), headers=headers)
            assert pending.status_code == 409, pending.text
            assert pending.headers["Retry-After"] == "1"

            asyncio.run(clear_faults(toolbox))
            _wait_for(lambda: not direct.exists("idem:dead-worker"), lock_ms / 1000 + 2, "expiry")
            served = client.post("/investigate", json=incident.alert(), headers=headers)
            assert served.status_code == 200, served.text
            body = served.json()
            assert (body["status"], body["root_cause"]) == ("complete", incident.root_cause)
            assert "Idempotent-Replayed" not in served.headers

            conflict = client.post("/investigate", json=other.alert(), headers=headers)
            assert conflict.status_code == 422, conflict.text
            assert "dead-worker" in conflict.json()["detail"]
            replay = client.post("/investigate", json=incident.alert(), headers=headers)
            assert replay.status_code == 200
            assert replay.json()["investigation_id"] == body["investigation_id"]
    finally:
        procs.stop(proc, timeout_s=2)


# -- bounded input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "labels",
    [
        {f"k{i}": "v" for i in range(51)},
        {"team": "x" * 501},
        {"k" * 101: "v"},
    ],
    ids=["51-labels", "501-char-value", "101-char-name"],
)
async def test_labels_are_bounded_and_the_422_names_the_field(
    toolbox: Server, shared_redis: Server, labels: dict[str, str]
) -> None:
    alert = {**incidents()[0].alert(), "labels": labels}
    async with running_agent(agent_settings(toolbox, shared_redis.url)) as (client, _):
        response = await client.post("/investigate", json=alert)
    assert response.status_code == 422, response.text
    assert all(error["loc"][:2] == ["body", "labels"] for error in response.json()["detail"])


def test_a_50_mb_body_is_413_before_parsing_without_the_worker_growing(
    toolbox: Server, shared_redis: Server, tmp_path: Path
) -> None:
    """Declared (Content-Length) or chunked, 50 MB get 413 at once; the worker's RSS stays put."""
    proc, url = spawn_agent(toolbox, shared_redis.url, tmp_path / "agent.log", 1)
    try:
        small = post_huge_body(url, "/investigate", 300 * 1024, chunked=True)  # warm-up
        assert small.status == 413
        before = rss_bytes(proc.pid)  # --workers 1: the master is the worker
        declared = post_huge_body(url, "/investigate", HUGE, chunked=False)
        chunked = post_huge_body(url, "/investigate", HUGE, chunked=True)
        after = rss_bytes(proc.pid)
        with httpx.Client(base_url=url, timeout=30, trust_env=False) as client:
            fits = client.post("/investigate", json={**incidents()[0].alert(), "summary": "s"})
    finally:
        procs.stop(proc, timeout_s=5)
    assert (declared.status, chunked.status) == (413, 413), (declared.head, chunked.head)
    assert b"connection: close" in declared.head.lower()
    assert chunked.sent_bytes < HUGE  # the agent stopped reading long before the end
    assert after - before < 4 * MIB, f"RSS grew by {(after - before) / MIB:.1f} MiB"
    assert fits.status_code == 200, fits.text


async def test_a_body_under_the_limit_is_parsed_and_one_over_it_is_not(
    toolbox: Server, shared_redis: Server
) -> None:
    """At the limit the body reaches validation (422 for a too-long summary); past it, 413."""
    settings = agent_settings(toolbox, shared_redis.url, max_body_bytes=4096)
    alert = incidents()[0].alert()
    async with running_agent(settings) as (client, _):
        parsed = await client.post("/investigate", json={**alert, "summary": "s" * 3000})
        refused = await client.post("/investigate", json={**alert, "summary": "s" * 5000})
    assert parsed.status_code == 422 and "summary" in parsed.text
    assert refused.status_code == 413
    assert refused.json()["detail"].endswith("bytes is over 4096 bytes")
