"""The agent as the local stack runs it: uvicorn ``--workers 2`` with PROMETHEUS_MULTIPROC_DIR."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import psutil

from stampede import procs
from tests.conftest import Server
from tests.target_agent.agent.support import incidents, metric_value, spawn_agent


def test_metrics_are_merged_over_workers_and_forget_a_killed_worker(
    toolbox: Server, shared_redis: Server, tmp_path: Path
) -> None:
    """Counters sum over both workers; a SIGKILLed worker's live gauges leave the sums."""
    prom = tmp_path / "prom"
    prom.mkdir()
    proc, url = spawn_agent(
        toolbox, shared_redis.url, tmp_path / "agent.log", 2, prometheus_multiproc_dir=str(prom)
    )
    try:
        with httpx.Client(timeout=30, trust_env=False) as client:
            for incident in incidents()[:10]:
                # a new connection each time, so both workers get requests
                response = httpx.post(
                    f"{url}/investigate", json=incident.alert(), timeout=30, trust_env=False
                )
                assert response.status_code == 200
            text = client.get(f"{url}/metrics").text
            assert metric_value(text, "agent_requests_total", outcome="complete") == 10
            assert metric_value(text, "agent_in_flight") == 0
            assert metric_value(text, "agent_breaker_state", dependency="llm") == 0

            master = proc.process()
            assert master is not None
            workers = [
                child
                for child in master.children()
                if "spawn_main" in " ".join(child.cmdline())
                and "resource_tracker" not in " ".join(child.cmdline())
            ]
            assert len(workers) == 2
            victim = workers[0].pid
            workers[0].kill()
            psutil.wait_procs([workers[0]], timeout=5)
            assert list(prom.glob(f"gauge_live*_{victim}.db"))
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    text = client.get(f"{url}/metrics").text
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            assert not list(prom.glob(f"gauge_live*_{victim}.db"))
            assert metric_value(text, "agent_requests_total", outcome="complete") == 10
    finally:
        # uvicorn's supervisor handles SIGTERM only once the restarted worker is up: don't wait.
        procs.stop(proc, timeout_s=2)
