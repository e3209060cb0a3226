"""Prometheus metrics of the agent, correct across several uvicorn worker processes.

With ``PROMETHEUS_MULTIPROC_DIR`` set (the launcher sets it), prometheus-client writes every
value to per-process files and ``/metrics`` merges them with a ``MultiProcessCollector``. Gauges
use the ``live*`` modes, whose files are keyed by PID; prometheus-client only drops a dead
process's ``live*`` files when ``mark_process_dead(pid)`` is called (gunicorn does it in a hook,
uvicorn has none), so :func:`forget_dead_processes` does it before each scrape for every PID
that no longer runs — otherwise a SIGKILLed worker's in-flight count would be summed forever.

Without the variable (tests, the benchmark) the metrics live in this app's own registry.
Labels are bounded: dependency names, tool names, outcome classes — never ids.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

BREAKER_STATE_VALUE = {"closed": 0, "half-opened": 1, "opened": 2}

LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0)

_LIVE_FILE = re.compile(r"^gauge_live\w+?_(\d+)\.db$")


def multiprocess_dir() -> str | None:
    """The multiprocess directory when prometheus-client runs in multiprocess mode."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def forget_dead_processes(path: str) -> list[int]:
    """Remove the ``live*`` gauge files of processes that no longer run; return their PIDs."""
    dead: set[int] = set()
    try:
        names = os.listdir(path)
    except OSError:
        return []
    for name in names:
        match = _LIVE_FILE.match(name)
        if match and not _pid_alive(int(match.group(1))):
            dead.add(int(match.group(1)))
    for pid in dead:
        multiprocess.mark_process_dead(pid, path)
    return sorted(dead)


class Metrics:
    """The agent's metric families, registered in a registry owned by one app instance."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "agent_requests_total", "Investigations by outcome", ["outcome"], registry=r
        )
        self.latency = Histogram(
            "agent_request_latency_seconds",
            "Latency of POST /investigate",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.tokens = Counter("agent_tokens_total", "LLM tokens used", registry=r)
        self.cost = Counter("agent_cost_usd_total", "LLM cost in USD", registry=r)
        self.tool_calls = Counter(
            "agent_tool_calls_total", "Tool calls by final result", ["tool", "result"], registry=r
        )
        self.retries = Counter(
            "agent_retries_total", "Retries per dependency", ["dependency"], registry=r
        )
        self.budget_exhausted = Counter(
            "agent_retry_budget_exhausted_total",
            "Retries refused because the retry budget was empty",
            ["dependency"],
            registry=r,
        )
        self.breaker_state = Gauge(
            "agent_breaker_state",
            "Circuit breaker state: 0 closed, 1 half-open, 2 open (max over workers)",
            ["dependency"],
            multiprocess_mode="livemax",
            registry=r,
        )
        self.in_flight = Gauge(
            "agent_in_flight",
            "Investigations in progress (sum over live workers)",
            multiprocess_mode="livesum",
            registry=r,
        )
        self.shed = Counter("agent_shed_total", "Requests refused by load shedding", registry=r)
        self.fallbacks = Counter(
            "agent_fallbacks_total", "Fallbacks taken", ["dependency", "kind"], registry=r
        )
        self.write_behind_depth = Gauge(
            "agent_write_behind_depth",
            "Records waiting in the write-behind buffer (sum over live workers)",
            multiprocess_mode="livesum",
            registry=r,
        )
        # Durable investigations (target_agent/agent/jobs/). Counters, whose files outlive a
        # SIGKILLed worker, so the merged sums keep its counts (docs/durable.md, "Metrics").
        self.jobs_submitted = Counter(
            "agent_jobs_submitted_total",
            "Durable investigations accepted by POST /investigations (replays not counted)",
            registry=r,
        )
        self.jobs_refused = Counter(
            "agent_jobs_refused_total",
            "POST /investigations refused because the job queue was full (503)",
            registry=r,
        )
        self.jobs_reclaimed = Counter(
            "agent_jobs_reclaimed_total",
            "Job entries taken over from an idle (dead) worker with XAUTOCLAIM",
            registry=r,
        )
        self.jobs_resumed = Counter(
            "agent_jobs_resumed_total",
            "Job attempts that resumed after a completed graph node",
            registry=r,
        )
        self.jobs_completed = Counter(
            "agent_jobs_completed_total",
            "Jobs answered, by final status (counted once, by the completing worker)",
            ["status"],
            registry=r,
        )
        # Per process, so per pod on kind: which one holds running jobs (the kind experiment
        # pod-kill-mid-run kills the pod running the most). The queue's total is agent_jobs_open.
        self.jobs_running = Gauge(
            "agent_jobs_running",
            "Durable jobs this process is running an attempt of (sum over live workers)",
            multiprocess_mode="livesum",
            registry=r,
        )
        self.jobs_dead_lettered = Counter(
            "agent_jobs_dead_lettered_total",
            "Jobs failed after the attempt limit (AGENT_JOB_MAX_ATTEMPTS)",
            registry=r,
        )

    def set_breaker(self, dependency: str, state: str) -> None:
        self.breaker_state.labels(dependency).set(BREAKER_STATE_VALUE.get(state, 0))

    def exposition(self, *read_now: Metric) -> bytes:
        """The text exposition: merged over workers in multiprocess mode, else this registry.

        ``read_now``: families the scrape read itself (:func:`jobs_open`), added as they are.
        """
        path = multiprocess_dir()
        if path is None:
            families = list(self.registry.collect())
        else:
            forget_dead_processes(path)
            families = list(multiprocess.MultiProcessCollector(None, path=path).collect())
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Families([*families, *read_now]))
        return generate_latest(registry)


def jobs_open(count: int) -> GaugeMetricFamily:
    """``agent_jobs_open``: accepted durable jobs not finished, as Redis counts them now.

    Not a ``Gauge``: the count is the queue's, not a process's. A multiprocess gauge set by
    whichever worker last changed the queue would be as old as that change and racy between
    workers; the ``/metrics`` route reads ``SCARD`` at scrape time and passes it here.
    """
    return GaugeMetricFamily(
        "agent_jobs_open",
        "Durable investigations accepted and not yet finished (SCARD of the queue's open set, "
        "read at scrape; absent when Redis did not answer)",
        value=count,
    )


class _Families:
    """A collector of families already read (prometheus-client's registries take collectors)."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


def clean_multiprocess_dir(path: str) -> None:
    """Remove stale files of dead processes (called at worker start-up)."""
    if Path(path).is_dir():
        forget_dead_processes(path)
