"""Helpers for the agent tests: settings, an in-process agent, faults, metric reading."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import redis
from prometheus_client.parser import text_string_to_metric_families

from stampede import procs
from target_agent.agent.main import create_app
from target_agent.agent.runtime import AgentRuntime
from target_agent.agent.settings import Settings
from target_agent.toolbox.catalogue import Incident, catalogue
from tests.conftest import Server

#: Short timeouts so fault tests finish quickly; still the agent's real mechanisms.
FAST: dict[str, Any] = {
    "deadline_s": 5.0,
    "llm_timeout_s": 2.0,
    "tool_timeout_s": 0.3,
    "redis_timeout_s": 0.2,
    "breaker_ttl_s": 1.0,
    "write_behind_flush_interval_s": 0.1,
    "shutdown_flush_s": 2.0,
}


def agent_settings(toolbox: Server, redis_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "toolbox_url": toolbox.url,
        "redis_url": redis_url,
        "replica": "test-replica",
        **FAST,
        **overrides,
    }
    return Settings(**values)


@asynccontextmanager
async def running_agent(
    settings: Settings,
) -> AsyncIterator[tuple[httpx.AsyncClient, AgentRuntime]]:
    """The real app with its lifespan, reached over httpx's ASGI transport."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://agent", timeout=60
        ) as client:
            yield client, app.state.runtime


async def set_fault(toolbox: Server, target: str, **spec: Any) -> None:
    spec.setdefault("ttl_s", 60)
    async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
        response = await client.put(
            f"{toolbox.url}/faults/{target}",
            json=spec,
            headers={"Authorization": f"Bearer {toolbox.admin_token}"},
        )
    response.raise_for_status()


async def clear_faults(toolbox: Server) -> None:
    async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
        response = await client.delete(
            f"{toolbox.url}/faults", headers={"Authorization": f"Bearer {toolbox.admin_token}"}
        )
    response.raise_for_status()


def fresh_db(server: Server, db: int) -> str:
    """A Redis URL on database ``db``, emptied (no cached tool answers to fall back on)."""
    redis.Redis(host=procs.LOCALHOST, port=server.port, db=db).flushdb()
    return server.url.rsplit("/", 1)[0] + f"/{db}"


def metric_value(text: str, name: str, **labels: str) -> float:
    """Sum of the samples called ``name`` whose labels include ``labels`` (0 when none)."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


async def toolbox_calls(toolbox: Server, target: str) -> float:
    """``toolbox_calls_total{target=...}`` summed over results: calls the toolbox received."""
    async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
        text = (await client.get(f"{toolbox.url}/metrics")).text
    return metric_value(text, "toolbox_calls_total", target=target)


def incidents() -> tuple[Incident, ...]:
    return catalogue()


def by_service(service: str) -> Incident:
    return next(i for i in catalogue() if i.service == service)


def spawn_agent(
    toolbox: Server,
    redis_url: str,
    log: Path,
    workers: int = 1,
    **env: str,
) -> tuple[procs.Proc, str]:
    """The agent under uvicorn in its own process; waits for /readyz (stopped if it never is)."""
    port = procs.free_port()
    full_env = {
        "AGENT_TOOLBOX_URL": toolbox.url,
        "AGENT_REDIS_URL": redis_url,
        "AGENT_REPLICA": "proc-replica",
        **{f"AGENT_{k.upper()}": v for k, v in env.items() if k != "prometheus_multiproc_dir"},
    }
    if "prometheus_multiproc_dir" in env:
        full_env["PROMETHEUS_MULTIPROC_DIR"] = env["prometheus_multiproc_dir"]
    url = f"http://{procs.LOCALHOST}:{port}"
    cmd = procs.uvicorn_command(
        "target_agent.agent.main:app",
        "--host", procs.LOCALHOST,
        "--port", str(port),
        "--workers", str(workers),
        "--no-access-log",
    )  # fmt: skip
    proc = procs.start(cmd, log, procs.http_ok(f"{url}/readyz"), "agent", 60, env=full_env)
    return proc, url


#: The durable-job weaknesses need worker processes to kill: each is shown to disable its mechanism
#: (reclaim, checkpoints) with real SIGKILLs in tests/target_agent/jobs/test_worker_kill.py.
JOB_WEAKNESSES = frozenset({"no_checkpoint", "no_reclaim"})
