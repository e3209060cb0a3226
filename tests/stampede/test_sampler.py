"""The sampler: Prometheus text (the agent's, multiprocess included) -> samples.csv rows."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from stampede.sampler import Sampler, SampleRow, parse_metrics

MULTIPROCESS_STYLE = textwrap.dedent(
    """\
    # HELP agent_requests_total Investigations by outcome
    # TYPE agent_requests_total counter
    agent_requests_total{outcome="complete",pid="101"} 7.0
    agent_requests_total{outcome="complete",pid="102"} 5.0
    agent_requests_total{outcome="degraded",pid="101"} 2.0
    # TYPE agent_breaker_state gauge
    agent_breaker_state{dependency="tool:get_logs",pid="101"} 0.0
    agent_breaker_state{dependency="tool:get_logs",pid="102"} 2.0
    agent_breaker_state{dependency="llm",pid="101"} 1.0
    # TYPE agent_retries_total counter
    agent_retries_total{dependency="llm"} 3.0
    agent_retries_created{dependency="llm"} 1.7e9
    # TYPE agent_in_flight gauge
    agent_in_flight{pid="101"} 2.0
    agent_in_flight{pid="102"} 3.0
    # TYPE agent_shed_total counter
    agent_shed_total 4.0
    # TYPE agent_write_behind_depth gauge
    agent_write_behind_depth 6.0
    # TYPE agent_request_latency_seconds histogram
    agent_request_latency_seconds_bucket{le="0.1"} 3.0
    agent_request_latency_seconds_count 3.0
    # TYPE process_cpu_seconds_total counter
    process_cpu_seconds_total 1.5
    """
)


def _as_dict(rows: list[SampleRow]) -> dict[tuple[str, str], float]:
    return {(r.metric, r.label): r.value for r in rows}


def test_contract_metrics_are_folded_over_worker_pids() -> None:
    """Counters and in-flight sum over workers; a breaker is as open as its most open worker."""
    rows = parse_metrics(MULTIPROCESS_STYLE, 10.0, "replica-kill")
    assert _as_dict(rows) == {
        ("requests_total", "complete"): 12.0,
        ("requests_total", "degraded"): 2.0,
        ("breaker_state", "tool:get_logs"): 2.0,
        ("breaker_state", "llm"): 1.0,
        ("retries_total", "llm"): 3.0,
        ("in_flight", ""): 5.0,
        ("shed_total", ""): 4.0,
        ("write_behind_depth", ""): 6.0,
    }
    assert {(r.ts, r.experiment) for r in rows} == {(10.0, "replica-kill")}


def test_garbage_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_metrics("this is { not prometheus", 0.0, "x")


_WORKER = textwrap.dedent(
    """
    import sys
    from target_agent.agent.metrics import Metrics

    m = Metrics()
    n = int(sys.argv[1])
    m.requests.labels("complete").inc(n)
    m.retries.labels("tool:get_logs").inc(n)
    m.set_breaker("tool:get_logs", "opened" if n == 2 else "closed")
    m.in_flight.set(n)
    m.write_behind_depth.set(10 * n)
    print("ready", flush=True)
    sys.stdin.read()
    """
)
_SCRAPE = "from target_agent.agent.metrics import Metrics; print(Metrics().exposition().decode())"


def test_real_agent_exposition_across_two_worker_processes(tmp_path: Path) -> None:
    """The agent's own Metrics in multiprocess mode, two live workers: rows per contract."""
    pytest.importorskip("target_agent.agent.metrics")
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(n)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in (1, 2)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        text = subprocess.run(
            [sys.executable, "-c", _SCRAPE], env=env, capture_output=True, text=True, timeout=60
        ).stdout
    finally:
        for worker in workers:
            worker.communicate("", timeout=30)
    got = _as_dict(parse_metrics(text, 1.0, "x"))
    assert got[("requests_total", "complete")] == 3.0
    assert got[("retries_total", "tool:get_logs")] == 3.0
    assert got[("breaker_state", "tool:get_logs")] == 2.0
    assert got[("in_flight", "")] == 3.0
    assert got[("write_behind_depth", "")] == 30.0


def test_sampler_appends_rows_and_survives_failed_scrapes(tmp_path: Path) -> None:
    """Every tick writes the scrape's rows plus the target's own; a failed scrape is counted."""
    calls = {"n": 0}

    def fetch() -> str:
        calls["n"] += 1
        if calls["n"] == 2:
            raise ConnectionError("agent restarting")
        return MULTIPROCESS_STYLE

    path = tmp_path / "samples.csv"
    sampler = Sampler(path, "tool-latency", fetch, lambda: [("workers_alive", "", 2)], 0.05)
    sampler.start()
    deadline = time.monotonic() + 10
    while sampler.scrapes < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    sampler.stop()
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["ts", "experiment", "metric", "label", "value"]
    assert sampler.failures == 1 and "agent restarting" in sampler.last_error
    alive = [r for r in rows if r["metric"] == "workers_alive"]
    assert len(alive) == sampler.scrapes  # also sampled when /metrics failed
    assert len(rows) == sampler.rows == 8 * (sampler.scrapes - 1) + sampler.scrapes
    assert {r["experiment"] for r in rows} == {"tool-latency"}
    # A second sampler (next experiment) appends without a second header.
    Sampler(path, "next", fetch, None, 0.05).start().stop()
    assert path.read_text().count("ts,experiment") == 1
