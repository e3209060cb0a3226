"""Prometheus metrics of the proxy: one registry per app, bounded labels (targets and results).

* ``stampede_proxy_calls_total{upstream, result}`` — every proxied call, counted when it ends
  however it ends: ``result`` is one of ``faults.inject.RESULTS``, ``upstream_error`` (the
  upstream could not be reached in time), ``client_gone`` (the client left before its answer
  was sent or finished) or ``proxy_error`` (the proxy itself failed on the call);
* ``stampede_proxy_faults_injected_total{upstream, fault}`` — faults injected, by kind
  (``latency``, ``error``, ``rate_limited``, ``hang``, ``reset``, ``corrupt``, ``rewritten``,
  ``stream_slow``, ``stream_cut``, ``stream_malformed``): a pre-call kind when it is applied
  (``latency`` and ``hang`` when the wait starts), an answer kind when the call ends;
* ``stampede_proxy_added_delay_seconds{upstream}`` — the delay a fault added before forwarding;
* ``stampede_proxy_fault_active{target}`` — 1 while a fault is set on ``target`` (read from the
  store at scrape time, so a report's timeline shows what was injected when);
* ``stampede_proxy_calls_in_flight{upstream}`` — proxied calls being handled now;
* ``stampede_proxy_event_loop_tasks`` — asyncio tasks alive in the proxy at scrape time (with
  the in-flight gauge: a leak of calls or tasks shows as a count that does not come back down).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    generate_latest,
)
from prometheus_client import Histogram as _Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from faults.inject import RESULTS
from faults.store import FaultStore

PROXY_RESULTS: tuple[str, ...] = (*RESULTS, "upstream_error", "client_gone", "proxy_error")
FAULT_KINDS: tuple[str, ...] = (
    "latency",
    "error",
    "rate_limited",
    "hang",
    "reset",
    "corrupt",
    "rewritten",
    "stream_slow",
    "stream_cut",
    "stream_malformed",
)
_DELAY_BUCKETS = (0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0)


class _ActiveFaults(Collector):
    def __init__(self, store: FaultStore) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "stampede_proxy_fault_active",
            "1 while a fault is set on the target.",
            labels=["target"],
        )
        active = self.store.active()
        for target in self.store.targets:
            gauge.add_metric([target], 1.0 if target in active else 0.0)
        yield gauge


class _LoopTasks(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "stampede_proxy_event_loop_tasks",
            "asyncio tasks alive in the proxy at scrape time.",
            value=float(len(asyncio.all_tasks())),
        )


class ProxyMetrics:
    """The proxy's series, all created at zero for every configured upstream."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, upstreams: Iterable[str], store: FaultStore) -> None:
        self.registry = CollectorRegistry()
        self.calls = Counter(
            "stampede_proxy_calls_total",
            "Proxied calls by upstream and result.",
            ["upstream", "result"],
            registry=self.registry,
        )
        self.injected = Counter(
            "stampede_proxy_faults_injected_total",
            "Calls a fault changed, by upstream and fault kind.",
            ["upstream", "fault"],
            registry=self.registry,
        )
        self.delay = _Histogram(
            "stampede_proxy_added_delay_seconds",
            "Delay a fault added before forwarding.",
            ["upstream"],
            buckets=_DELAY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "stampede_proxy_calls_in_flight",
            "Proxied calls being handled now, by upstream.",
            ["upstream"],
            registry=self.registry,
        )
        for upstream in upstreams:
            for result in PROXY_RESULTS:
                self.calls.labels(upstream, result)
            for kind in FAULT_KINDS:
                self.injected.labels(upstream, kind)
            self.delay.labels(upstream)
            self.in_flight.labels(upstream)
        self.registry.register(_ActiveFaults(store))
        self.registry.register(_LoopTasks())

    def record(self, upstream: str, result: str, faults: Iterable[str] = ()) -> None:
        """Count one call that ended with ``result``, and the fault kinds its answer got."""
        self.calls.labels(upstream, result).inc()
        for kind in faults:
            self.injected.labels(upstream, kind).inc()

    def count_injected(self, upstream: str, kind: str) -> None:
        """Count one fault of ``kind`` injected on a call to ``upstream`` (as it happens)."""
        self.injected.labels(upstream, kind).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
