"""The sampler: Prometheus text (the agent's, multiprocess included) -> samples.csv rows."""

from __future__ import annotations

import csv
import functools
import signal
import sys
import time
from pathlib import Path

import pytest

from stampede import procs
from stampede.sampler import Sampler, SampleRow, ScrapeSource, parse_metrics
from tests.stampede.fakes import FAKES
from tests.stampede.helpers import wait_until

MULTIPROCESS_STYLE = (FAKES / "multiprocess_metrics.txt").read_text()


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


WORKER = FAKES / "metrics_worker.py"


def _says_ready(log: Path) -> bool:
    return "ready" in log.read_text()


def test_real_agent_exposition_across_two_worker_processes(tmp_path: Path) -> None:
    """The agent's own Metrics in multiprocess mode, two live workers: rows per contract."""
    pytest.importorskip("target_agent.agent.metrics")
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom")}
    (tmp_path / "prom").mkdir()
    workers = [
        procs.Child(f"worker-{n}", [sys.executable, str(WORKER), str(n)],
                    tmp_path / f"worker-{n}.log", env, tmp_path)
        for n in (1, 2)
    ]  # fmt: skip
    try:
        for worker in workers:
            wait_until(functools.partial(_says_ready, worker.log), 30, f"{worker.what} ready")
        scrape = procs.Child("scrape", [sys.executable, str(WORKER), "scrape"],
                             tmp_path / "scrape.log", env, tmp_path)  # fmt: skip
        assert scrape.wait(60) == 0, scrape.log_tail()
        text = scrape.log.read_text()
    finally:
        for worker in workers:
            worker.stop(signal.SIGTERM, 10)
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
    sampler = Sampler(
        path,
        "tool-latency",
        [ScrapeSource("agent", fetch)],
        lambda: [("workers_alive", "", 2)],
        0.05,
    )
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
    Sampler(path, "next", [ScrapeSource("agent", fetch)], None, 0.05).start().stop()
    assert path.read_text().count("ts,experiment") == 1
