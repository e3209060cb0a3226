"""The reference agent's LLM and tool experiments through the fault proxy (issue 10, Must show 2).

One local stack with ``stampede proxy`` between the agent and the toolbox
(``LocalTarget(proxy=True)``, as ``stampede up --proxy`` starts it). Each experiment of
experiments/local that breaks the LLM or a tool runs unchanged with real Chaos Toolkit and only
the target's ``chaos_env()`` (its fault API is the proxy's), and the reference agent must hold
as it does without the proxy. Where the faults landed is checked from outside the activities:

* transport faults (latency, errors, hang, rate limit) are the proxy's: its
  ``stampede_proxy_faults_injected_total`` grows, the toolbox's fault list stays empty and the
  toolbox answers every call ``ok``;
* world faults (lie, hallucinate) need the toolbox's answer key: they are set on the toolbox
  behind the proxy, the proxy's list stays empty and injects nothing, and the toolbox's
  ``lie`` / ``hallucinate`` answers reach the agent through the proxy.

Heavy (a stack and ~7 experiments of ~15-25 s each): marked ``slow``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from faults.client import FaultApiError, FaultClient
from stampede.targets import LocalTarget, MetricsSource
from tests.experiments.conftest import REPO, chaos

pytestmark = pytest.mark.slow

#: Experiment -> (fault target, where its fault must land).
EXPERIMENTS = {
    "tool-latency": ("tool:get_logs", "proxy"),
    "tool-errors": ("tools", "proxy"),
    "tool-hang": ("tool:get_metrics", "proxy"),
    "llm-rate-limit": ("llm", "proxy"),
    "llm-errors": ("llm", "proxy"),
    "lying-tool": ("tool:get_logs", "toolbox"),
    "hallucinating-llm": ("llm", "toolbox"),
}
#: The toolbox's own answer for a world fault (``toolbox_calls_total{result}``).
WORLD_RESULT = {"lying-tool": "lie", "hallucinating-llm": "hallucinate"}
INJECTED = "stampede_proxy_faults_injected"
TOOLBOX_CALLS = "toolbox_calls"
RUN_TIMEOUT_S = 120
POLL_S = 0.25


@pytest.fixture(scope="module")
def proxy_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTarget]:
    """The reference agent with the fault proxy in front of the toolbox (stopped at the end)."""
    target = LocalTarget(tmp_path_factory.mktemp("stack-proxy"), None, proxy=True)
    target.up(say=lambda _line: None)
    try:
        yield target
    finally:
        target.down(say=lambda _line: None)


def _apis(target: LocalTarget) -> dict[str, FaultClient]:
    """Fault API name (``proxy``, ``toolbox``) -> a client, from the target's endpoints."""
    return {endpoint.name: endpoint.client() for endpoint in target.fault_endpoints()}


def _counters(source: MetricsSource, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Labels -> value of every sample of counter ``name`` on a Prometheus page."""
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(source.fetch())
        for sample in family.samples
        if sample.name == f"{name}_total"
    }


def _grown(before: dict[Any, float], after: dict[Any, float]) -> dict[Any, float]:
    """The samples that grew between two scrapes, by how much."""
    return {k: v - before.get(k, 0.0) for k, v in after.items() if v > before.get(k, 0.0)}


@contextmanager
def _faults_seen(apis: dict[str, FaultClient]) -> Iterator[dict[str, set[str]]]:
    """While the block runs, every target seen with a fault on each API (polled)."""
    seen: dict[str, set[str]] = {name: set() for name in apis}
    problems: list[str] = []
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            for name, api in apis.items():
                try:
                    seen[name].update(api.active())
                except FaultApiError as exc:  # reported after the block
                    problems.append(f"{name}: {exc}")
            done.wait(POLL_S)

    thread = threading.Thread(target=poll, name="fault-poller", daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        done.set()
        thread.join(timeout=10)
    assert problems == [], problems


def _run(name: str, target: LocalTarget, cwd: Path) -> tuple[int, dict[str, Any], str]:
    """``chaos --no-version-check run --rollback-strategy always`` with ``chaos_env()`` only."""
    journal = cwd / "journal.json"
    done = chaos(
        "run",
        "--rollback-strategy",
        "always",
        "--journal-path",
        str(journal),
        str(REPO / "experiments" / "local" / f"{name}.json"),
        cwd=cwd,
        env=target.chaos_env(),
        timeout_s=RUN_TIMEOUT_S,
    )
    assert journal.exists(), f"no journal; chaos said:\n{done.stdout}\n{done.stderr}"
    return done.returncode, json.loads(journal.read_text()), done.stderr


# Timing under load on 2 shared cores: one rerun, visible as "R" and "rerun" in pytest's summary.
@pytest.mark.flaky(reruns=1, reruns_delay=5)
@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_the_reference_agent_holds_through_the_proxy(
    name: str, proxy_target: LocalTarget, tmp_path: Path
) -> None:
    fault_target, lands_on = EXPERIMENTS[name]
    apis = _apis(proxy_target)
    assert set(apis) == {"proxy", "toolbox"}
    assert proxy_target.chaos_env()["STAMPEDE_FAULT_API_URL"] == apis["proxy"].base_url
    proxy_metrics = {s.name: s for s in proxy_target.metrics_sources()}["proxy"]
    toolbox_metrics = MetricsSource("toolbox", f"{apis['toolbox'].base_url}/metrics")
    injected_before = _counters(proxy_metrics, INJECTED)
    toolbox_before = _counters(toolbox_metrics, TOOLBOX_CALLS)

    with _faults_seen(apis) as seen:
        code, journal, stderr = _run(name, proxy_target, tmp_path)

    after = journal["steady_states"]["after"]
    assert (journal["status"], journal["deviated"]) == ("completed", False), json.dumps(
        after, indent=1
    )[:3000]
    assert code == 0, stderr[-2000:]
    failed = [r for r in journal["run"] + journal["rollbacks"] if r["status"] != "succeeded"]
    assert failed == []
    injected = [r for r in journal["run"] if r["activity"]["provider"]["func"] == "inject_fault"]
    assert [r["output"]["fault_api"] for r in injected] == [apis[lands_on].base_url]
    other = "toolbox" if lands_on == "proxy" else "proxy"
    assert seen == {lands_on: {fault_target}, other: set()}
    assert apis["proxy"].active() == {} and apis["toolbox"].active() == {}

    grown_proxy = _grown(injected_before, _counters(proxy_metrics, INJECTED))
    grown_toolbox = _grown(toolbox_before, _counters(toolbox_metrics, TOOLBOX_CALLS))
    toolbox_results = {dict(labels)["result"] for labels in grown_toolbox}
    if lands_on == "proxy":
        assert sum(grown_proxy.values()) > 0, "the proxy injected nothing"
        assert toolbox_results == {"ok"}, grown_toolbox  # the toolbox itself injected nothing
    else:
        assert grown_proxy == {}, grown_proxy
        assert WORLD_RESULT[name] in toolbox_results, grown_toolbox
