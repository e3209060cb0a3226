"""Each ``AGENT_WEAKNESS`` really switches its mechanism off: the same scenario is run against
the full agent and the weakened one, and the observable difference is asserted."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from stampede import procs
from target_agent.agent.settings import WEAKNESSES
from tests.conftest import Server
from tests.target_agent.agent.support import (
    JOB_WEAKNESSES,
    agent_settings,
    by_service,
    fresh_db,
    metric_value,
    running_agent,
    set_fault,
    spawn_agent,
    toolbox_calls,
)

pytestmark = pytest.mark.anyio

CHECKOUT = by_service("checkout")  # high_latency: get_metrics, get_logs, get_deploys


@dataclass(frozen=True)
class Env:
    toolbox: Server
    redis: Server
    tmp: Path


async def investigate_once(
    env: Env, weakness: str, **overrides: Any
) -> tuple[dict[str, Any], float]:
    redis_url = overrides.pop("redis_url", env.redis.url)
    settings = agent_settings(env.toolbox, redis_url, weakness=weakness, **overrides)
    async with running_agent(settings) as (client, _):
        started = time.monotonic()
        response = await client.post("/investigate", json=CHECKOUT.alert())
        elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    return response.json(), elapsed


# -- scenarios: each returns an observation for one weakness setting ("" = the full agent) ---


async def failing_tools_retries(env: Env, weakness: str) -> int:
    await set_fault(env.toolbox, "tools", error_rate=1.0, error_status=503, retry_after_s=0)
    body, _ = await investigate_once(env, weakness)
    return int(body["retries"])


async def failing_tool_calls_and_breaker(env: Env, weakness: str) -> tuple[float, float]:
    await set_fault(env.toolbox, "tool:get_logs", error_rate=1.0, error_status=500)
    settings = agent_settings(
        env.toolbox, env.redis.url, weakness=weakness, breaker_threshold=3, breaker_ttl_s=30
    )
    before = await toolbox_calls(env.toolbox, "tool:get_logs")
    async with running_agent(settings) as (client, _):
        for _ in range(6):
            await client.post("/investigate", json=CHECKOUT.alert())
        text = (await client.get("/metrics")).text
    calls = await toolbox_calls(env.toolbox, "tool:get_logs") - before
    return calls, metric_value(text, "agent_breaker_state", dependency="tool:get_logs")


async def slow_tool_latency(env: Env, weakness: str) -> tuple[str, float]:
    await set_fault(env.toolbox, "tool:get_logs", latency_ms=2000)
    # An empty cache: no stale get_logs answer to fall back on after the timeout.
    body, elapsed = await investigate_once(env, weakness, redis_url=fresh_db(env.redis, 5))
    return body["status"], elapsed


async def retry_after_storm(env: Env, weakness: str) -> tuple[int, float]:
    await set_fault(env.toolbox, "tools", error_rate=1.0, error_status=503, retry_after_s=1)
    # The breaker would cut the storm short after 5 failures; keep it out of this comparison.
    body, elapsed = await investigate_once(env, weakness, breaker_threshold=100)
    return int(body["retries"]), elapsed


async def readiness_without_redis(env: Env, weakness: str) -> int:
    dead = f"redis://{procs.LOCALHOST}:{procs.free_port()}/0"
    settings = agent_settings(env.toolbox, dead, weakness=weakness, shutdown_flush_s=0.1)
    async with running_agent(settings) as (client, _):
        return (await client.get("/readyz")).status_code


async def sigterm_during_investigation(env: Env, weakness: str) -> tuple[str, str]:
    """SIGTERM while an investigation waits on a 1.5 s tool: answered, or dropped?"""
    await set_fault(env.toolbox, "tools", latency_ms=1500)
    log = env.tmp / f"agent-{weakness or 'full'}.log"
    extra = {"weakness": weakness} if weakness else {}
    proc, url = await asyncio.to_thread(
        spawn_agent, env.toolbox, env.redis.url, log, 1, tool_timeout_s="3", **extra
    )
    try:
        async with httpx.AsyncClient(timeout=15, trust_env=False) as client:
            pending = asyncio.create_task(client.post(f"{url}/investigate", json=CHECKOUT.alert()))
            await asyncio.sleep(0.7)
            live = proc.process()
            assert live is not None
            live.send_signal(signal.SIGTERM)
            try:
                response = await pending
                outcome = f"{response.status_code} {response.json()['status']}"
            except httpx.HTTPError as exc:
                outcome = type(exc).__name__
        for _ in range(100):
            if not proc.alive():
                break
            await asyncio.sleep(0.1)
        return outcome, Path(proc.log).read_text(errors="replace")
    finally:
        procs.stop(proc)


async def hallucination_verdict(env: Env, weakness: str) -> tuple[str, str | None]:
    await set_fault(env.toolbox, "llm", hallucinate=True)
    body, _ = await investigate_once(env, weakness)
    return body["status"], body["root_cause"]


# -- checks: (full agent, weakened agent) -------------------------------------------------------


def check_no_retries(full: int, weak: int) -> None:
    assert full > 0 and weak == 0


def check_no_breaker(full: tuple[float, float], weak: tuple[float, float]) -> None:
    (full_calls, full_state), (weak_calls, weak_state) = full, weak
    assert full_state == 2 and weak_state == 0
    assert full_calls <= 3 < weak_calls, (full_calls, weak_calls)


def check_no_timeouts(full: tuple[str, float], weak: tuple[str, float]) -> None:
    assert full[0] == "degraded" and full[1] < 1.9, full
    assert weak[0] == "complete" and weak[1] >= 2.0, weak


def check_retry_storm(full: tuple[int, float], weak: tuple[int, float]) -> None:
    # full: <= 2 retries per tool, each after the 1 s Retry-After; storm: 9 per tool, no wait
    assert full[0] <= 6 and full[1] >= 1.0, full
    assert weak[0] >= 3 * 9 and weak[1] < 1.0, weak


def check_readiness_on_redis(full: int, weak: int) -> None:
    assert (full, weak) == (200, 503)


def check_no_graceful_shutdown(full: tuple[str, str], weak: tuple[str, str]) -> None:
    assert full[0] == "200 complete", full
    assert "draining" in full[1]
    assert weak[0] != "200 complete" and "exiting now" in weak[1], weak[0]


def check_trust_tools(full: tuple[str, str | None], weak: tuple[str, str | None]) -> None:
    assert full == ("degraded", None)
    assert weak == ("complete", CHECKOUT.decoy_cause)  # confidently wrong


@dataclass(frozen=True)
class Case:
    run: Callable[[Env, str], Awaitable[Any]]
    check: Callable[[Any, Any], None]
    concurrent: bool = False  # both agents at once (separate processes, no shared state)


CASES: dict[str, Case] = {
    "no_retries": Case(failing_tools_retries, check_no_retries),
    "no_breaker": Case(failing_tool_calls_and_breaker, check_no_breaker),
    "no_timeouts": Case(slow_tool_latency, check_no_timeouts),
    "retry_storm": Case(retry_after_storm, check_retry_storm),
    "readiness_on_redis": Case(readiness_without_redis, check_readiness_on_redis),
    "no_graceful_shutdown": Case(
        sigterm_during_investigation, check_no_graceful_shutdown, concurrent=True
    ),
    "trust_tools": Case(hallucination_verdict, check_trust_tools),
}


IN_PROCESS = tuple(w for w in WEAKNESSES if w not in JOB_WEAKNESSES)


def test_every_weakness_has_a_case() -> None:
    assert set(CASES) == set(IN_PROCESS) and set(WEAKNESSES) >= JOB_WEAKNESSES
    shown = (Path(__file__).parents[1] / "jobs/test_worker_kill.py").read_text()
    assert all(f'weakness="{w}"' in shown for w in JOB_WEAKNESSES)


@pytest.mark.parametrize("weakness", IN_PROCESS, ids=IN_PROCESS)
async def test_weakness_really_disables_its_mechanism(
    weakness: str, toolbox: Server, shared_redis: Server, tmp_path: Path
) -> None:
    case = CASES[weakness]
    env = Env(toolbox, shared_redis, tmp_path)
    if case.concurrent:
        full, weak = await asyncio.gather(case.run(env, ""), case.run(env, weakness))
    else:
        full = await case.run(env, "")
        weak = await case.run(env, weakness)
    print(f"{weakness}: full agent {full!r:.120} / weakened {weak!r:.120}")
    case.check(full, weak)
