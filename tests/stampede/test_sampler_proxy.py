"""The fault proxy's series in samples.csv: what was injected when (metricmap.PROXY).

The unit part reads a fixed exposition; the integration part runs a real ``stampede proxy``
(`stampede.procs.spawn_proxy`) in front of a real upstream (tests/stampede/tiny_app.py), sets
faults through its fault API, sends calls through it and samples its ``/metrics`` the way a suite
does (`stampede.suite.measures.scrape_sources`): rows for ``faults_injected_total`` appear with
``proxy:<upstream>:<fault>`` labels at the ticks after the faulted calls.
"""

from __future__ import annotations

import csv
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import httpx
import pytest

from faults.client import FaultClient
from stampede import procs
from stampede.metricmap import PROXY, PROXY_CANONICAL, REFERENCE, MetricMapping
from stampede.sampler import Sampler, read_exposition
from stampede.suite.measures import scrape_sources
from stampede.targets.base import MetricsSource, Target
from tests.stampede.helpers import wait_until

PROXY_TEXT = """\
# TYPE stampede_proxy_calls_total counter
stampede_proxy_calls_total{result="ok",upstream="llm"} 2.0
stampede_proxy_calls_total{result="error",upstream="tool:get_logs"} 3.0
stampede_proxy_calls_total{result="ok",upstream="tool:get_logs"} 0.0
# TYPE stampede_proxy_faults_injected_total counter
stampede_proxy_faults_injected_total{fault="latency",upstream="llm"} 2.0
stampede_proxy_faults_injected_total{fault="error",upstream="tool:get_logs"} 3.0
# TYPE stampede_proxy_added_delay_seconds histogram
stampede_proxy_added_delay_seconds_bucket{le="0.1",upstream="llm"} 2.0
stampede_proxy_added_delay_seconds_bucket{le="+Inf",upstream="llm"} 2.0
stampede_proxy_added_delay_seconds_count{upstream="llm"} 2.0
stampede_proxy_added_delay_seconds_sum{upstream="llm"} 0.1
# TYPE stampede_proxy_fault_active gauge
stampede_proxy_fault_active{target="llm"} 1.0
stampede_proxy_fault_active{target="tool:get_logs"} 0.0
"""


def test_the_proxy_map_reads_every_proxy_series_with_joined_labels() -> None:
    """Two-label series give `<upstream>:<result|fault>`; the histogram's sum is the delay."""
    assert read_exposition(PROXY_TEXT, PROXY).values == {
        ("proxy_calls_total", "llm:ok"): 2.0,
        ("proxy_calls_total", "tool:get_logs:error"): 3.0,
        ("proxy_calls_total", "tool:get_logs:ok"): 0.0,
        ("faults_injected_total", "llm:latency"): 2.0,
        ("faults_injected_total", "tool:get_logs:error"): 3.0,
        ("added_delay_seconds_total", "llm"): 0.1,
        ("fault_active", "llm"): 1.0,
        ("fault_active", "tool:get_logs"): 0.0,
    }
    assert sorted(PROXY.mappings) == sorted(PROXY_CANONICAL)
    assert PROXY.absent(read_exposition(PROXY_TEXT, PROXY).exposed) == []


def test_the_agent_map_ignores_the_proxy_and_the_proxy_map_the_agent() -> None:
    assert read_exposition(PROXY_TEXT, REFERENCE).values == {}
    assert set(PROXY_CANONICAL).isdisjoint(REFERENCE.mappings)


def test_a_mapping_with_several_labels_joins_them_in_order_and_records_them() -> None:
    mapping = MetricMapping("m", "s", ("a", "b"))
    assert mapping.label_of({"b": "2", "a": "x:1", "c": "ignored"}) == "x:1:2"
    assert mapping.label_of({"a": "1"}) == "1:"  # a missing label is empty, never dropped
    assert mapping.as_dict()["label"] == ["a", "b"]
    assert MetricMapping("m", "s").label_of({"a": "1"}) == ""


# -- a real proxy ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Running:
    url: str
    token: str


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[Running]:
    """tiny_app (answers 200 to everything) behind ``stampede proxy`` as `llm` and a tool."""
    port = procs.free_port()
    upstream = procs.spawn(
        procs.uvicorn_command(
            "tests.stampede.tiny_app:app", "--host", procs.LOCALHOST, "--port", str(port),
            "--no-access-log",
        ),
        tmp_path / "upstream.log",
    )  # fmt: skip
    proxy_proc: procs.Proc | None = None
    try:
        upstream_url = f"http://{procs.LOCALHOST}:{port}"
        procs.wait_http_ok(f"{upstream_url}/", upstream, what="tiny upstream")
        token = secrets.token_hex(8)
        proxy_port = procs.free_port()
        upstreams = {"llm": upstream_url, "tool:get_logs": upstream_url}
        proxy_proc = procs.spawn_proxy(proxy_port, tmp_path / "proxy.log", token, upstreams)
        procs.ensure_ready(proxy_proc, procs.proxy_ready(proxy_port), "proxy")
        yield Running(f"http://{procs.LOCALHOST}:{proxy_port}", token)
    finally:
        if proxy_proc is not None:
            procs.stop(proxy_proc)
        procs.stop(upstream)


class ProxyOnly:
    """A target whose only metrics source is the proxy (what the sampler is given)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def metrics_sources(self) -> list[MetricsSource]:
        return [MetricsSource("proxy", f"{self.url}/metrics")]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _series(rows: list[dict[str, str]], metric: str, label: str) -> list[float]:
    values = [float(r["value"]) for r in rows if (r["metric"], r["label"]) == (metric, label)]
    assert values, f"no {metric} row labelled {label!r}"
    return values


def _last(rows: list[dict[str, str]], metric: str, label: str) -> float:
    return _series(rows, metric, label)[-1]


@pytest.mark.timeout(60)
def test_sampled_proxy_rows_show_what_was_injected_when(proxy: Running, tmp_path: Path) -> None:
    """Zero before the faults, the injected counts after them, fault_active 1 then 0."""
    (source,) = scrape_sources(cast(Target, ProxyOnly(proxy.url)), REFERENCE)
    assert (source.metric_map, source.label_prefix) == (PROXY, "proxy")
    path = tmp_path / "samples.csv"
    sampler = Sampler(path, "tool-errors", [source], None, interval_s=0.1).start()
    faults = FaultClient(proxy.url, proxy.token)
    try:
        wait_until(lambda: sampler.rows > 0, 10, "a first scrape of the proxy")
        faults.set("tool:get_logs", {"error_rate": 1.0, "error_status": 503, "ttl_s": 30})
        faults.set("llm", {"latency_ms": 40, "ttl_s": 30})
        fault_set_at = time.time()
        with httpx.Client(trust_env=False, timeout=5.0) as client:
            statuses = [client.post(f"{proxy.url}/tools/get_logs", json={}).status_code
                        for _ in range(3)]  # fmt: skip
            statuses += [client.post(f"{proxy.url}/llm/chat/completions", json={}).status_code
                         for _ in range(2)]  # fmt: skip
        assert statuses == [503, 503, 503, 200, 200]
        scrapes = sampler.scrapes
        wait_until(lambda: sampler.scrapes >= scrapes + 2, 10, "two scrapes after the calls")
        faults.clear_all()
        scrapes = sampler.scrapes
        wait_until(lambda: sampler.scrapes >= scrapes + 2, 10, "two scrapes after the clear")
    finally:
        sampler.stop()
    rows = _rows(path)
    injected = [r for r in rows if r["metric"] == "faults_injected_total"]
    # The first scrape finished before any fault was set (waited for above); a later row stamped
    # before ``fault_set_at`` may still carry counts (a row's ts is when its scrape started).
    first_ts = min(float(r["ts"]) for r in injected)
    assert first_ts < fault_set_at
    first = [r for r in injected if float(r["ts"]) == first_ts]
    assert first and {float(r["value"]) for r in first} == {0.0}  # zeros: the rise is seen
    assert _last(rows, "faults_injected_total", "proxy:tool:get_logs:error") == 3.0
    assert _last(rows, "faults_injected_total", "proxy:llm:latency") == 2.0
    assert _last(rows, "faults_injected_total", "proxy:llm:error") == 0.0
    assert _last(rows, "proxy_calls_total", "proxy:tool:get_logs:error") == 3.0
    assert _last(rows, "proxy_calls_total", "proxy:llm:ok") == 2.0
    assert _last(rows, "added_delay_seconds_total", "proxy:llm") >= 0.06  # 2 x 40 ms, +- timer
    active = _series(rows, "fault_active", "proxy:tool:get_logs")
    assert 1.0 in active and active[-1] == 0.0
    assert {r["experiment"] for r in rows} == {"tool-errors"}
    stats = sampler.stats()
    assert stats.failures == 0
    assert stats.absent == () and stats.sources[0].metric_map == "proxy"
