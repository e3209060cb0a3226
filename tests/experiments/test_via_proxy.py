"""The reference agent's LLM and tool experiments through the fault proxy (issue 10, Must show 2).

One local stack with ``stampede proxy`` between the agent and the toolbox
(``LocalTarget(proxy=True)``, as ``stampede up --proxy`` starts it). Each experiment of
experiments/local that breaks the LLM or a tool runs unchanged with real Chaos Toolkit
(``--rollback-strategy always``) and only the target's ``chaos_env()`` (its fault API is the
proxy's), and the reference agent must hold as it does without the proxy. Where the faults
landed is checked from outside the activities:

* transport faults (latency, errors, hang, rate limit) are the proxy's: its fault list has
  them, its ``/metrics`` show the fault applied to calls, the toolbox's fault list stays empty
  and the toolbox answers every call ``ok``;
* world faults (lie, hallucinate) need the toolbox's answer key: they are set on the toolbox
  behind the proxy, the proxy's list stays empty and it injects nothing, and the toolbox's
  ``lie`` / ``hallucinate`` answers reach the agent through the proxy.

Heavy (a stack and 7 experiments of ~12-15 s each, ~2.5 min): marked ``slow``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from faults.client import FaultApiError, FaultClient
from stampede.stack import load_state
from stampede.targets import LocalTarget, MetricsSource
from target_agent.toolbox.catalogue import catalogue
from tests.experiments.conftest import REPO, chaos

pytestmark = pytest.mark.slow

#: Experiment -> (fault target, the fault API its fault must land on).
EXPERIMENTS = {
    "tool-latency": ("tool:get_logs", "proxy"),
    "tool-errors": ("tools", "proxy"),
    "tool-hang": ("tool:get_metrics", "proxy"),
    "llm-rate-limit": ("llm", "proxy"),
    "llm-errors": ("llm", "proxy"),
    "lying-tool": ("tool:get_logs", "toolbox"),
    "hallucinating-llm": ("llm", "toolbox"),
}
#: Transport experiment -> the proxy's ``stampede_proxy_faults_injected_total{fault}`` kind.
INJECTED_KIND = {
    "tool-latency": "latency",
    "tool-errors": "error",
    "tool-hang": "hang",
    "llm-rate-limit": "rate_limited",
    "llm-errors": "error",
}
#: tool-latency's 2.5 s delay outlasts the agent's 1 s tool timeout: the agent leaves first (the
#: proxy counts the injection when the wait starts, and the call as ``client_gone``); the delay
#: the proxy added (``stampede_proxy_added_delay_seconds_sum``) is checked too.
LATENCY_S = {"tool-latency": 2.5}
#: The toolbox's own answer for a world fault (``toolbox_calls_total{result}``).
WORLD_RESULT = {"lying-tool": "lie", "hallucinating-llm": "hallucinate"}
#: The LLM limit (10 calls/s) only bites above the experiment's own 4 investigations/s (8 LLM
#: calls/s): as in the suite, load runs beside it (investigations/s).
LOAD = {"llm-rate-limit": 4.0}
#: Experiments whose steady state deviates the same way without the proxy (so not the proxy's
#: doing): the breaches they may show, and why. Everything else is still asserted for them:
#: every activity and rollback succeeded, the fault landed on the proxy and was injected, and
#: no probe other than the fault window's latency failed. tool-hang: measured 2 of 2 runs on a
#: stack with no proxy, fault window p50 2.6-3.1 s > its 1000 ms objective - the 1 s tool
#: timeout x 3 attempts runs before each worker's breaker opens.
DEVIATES_WITHOUT_PROXY = {"tool-hang": ("the-fault-window-met-the-slo", ("p50 ",))}
RUN_TIMEOUT_S = 120
POLL_S = 0.25

Samples = dict[tuple[tuple[str, str], ...], float]


@pytest.fixture(scope="module")
def proxy_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTarget]:
    """The reference agent with the fault proxy in front of the toolbox (stopped at the end)."""
    target = LocalTarget(tmp_path_factory.mktemp("stack-proxy"), None, proxy=True)
    target.up(say=lambda _line: None)
    try:
        yield target
    finally:
        target.down(say=lambda _line: None)


def _samples(source: MetricsSource, sample: str) -> Samples:
    """Labels -> value of every sample named ``sample`` on a Prometheus page."""
    return {
        tuple(sorted(found.labels.items())): found.value
        for family in text_string_to_metric_families(source.fetch())
        for found in family.samples
        if found.name == sample
    }


def _grown(before: Samples, after: Samples) -> dict[str, float]:
    """The samples that grew between two scrapes, by how much (labels as a dict, in a key)."""
    return {
        json.dumps(dict(labels)): value - before.get(labels, 0.0)
        for labels, value in after.items()
        if value > before.get(labels, 0.0)
    }


def _labels(grown: dict[str, Any]) -> list[dict[str, str]]:
    return [json.loads(key) for key in grown]


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


@contextmanager
def _load(agent_url: str, rate_per_s: float) -> Iterator[list[int]]:
    """Investigations at ``rate_per_s`` while the block runs (none at 0); each HTTP status (or 0
    for no answer).
    """
    statuses: list[int] = []
    if rate_per_s <= 0:
        yield statuses
        return
    done = threading.Event()
    alerts = [incident.alert() for incident in catalogue()]

    def one(client: httpx.Client, alert: dict[str, Any]) -> None:
        try:
            statuses.append(client.post(f"{agent_url}/investigate", json=alert).status_code)
        except httpx.HTTPError:
            statuses.append(0)

    def pace() -> None:
        with (
            httpx.Client(timeout=10, trust_env=False) as client,
            ThreadPoolExecutor(max_workers=8, thread_name_prefix="load") as pool,
        ):
            sent = 0
            while not done.wait(1 / rate_per_s if sent else 0):
                pool.submit(one, client, alerts[sent % len(alerts)])
                sent += 1

    thread = threading.Thread(target=pace, name="load", daemon=True)
    thread.start()
    try:
        yield statuses
    finally:
        done.set()
        thread.join(timeout=30)


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


def _assert_holds(name: str, code: int, journal: dict[str, Any], stderr: str) -> None:
    """Completed, every activity and rollback succeeded; not deviated and exit 0 - or, for
    :data:`DEVIATES_WITHOUT_PROXY`, deviated only by its known probe's known breaches.
    """
    after = journal["steady_states"]["after"]
    runs = journal["run"] + journal["rollbacks"]
    assert [r["activity"]["name"] for r in runs if r["status"] != "succeeded"] == []
    assert journal["status"] == "completed", json.dumps(after, indent=1)[:3000]
    if name not in DEVIATES_WITHOUT_PROXY or not journal["deviated"]:
        assert journal["deviated"] is False, json.dumps(after, indent=1)[:3000]
        assert code == 0, stderr[-2000:]
        return
    probe, allowed = DEVIATES_WITHOUT_PROXY[name]
    missed = [p for p in after["probes"] if not p["tolerance_met"]]
    assert [p["activity"]["name"] for p in missed] == [probe], json.dumps(after, indent=1)[:3000]
    breached = missed[0]["output"]["breached"]
    assert breached and all(b.startswith(allowed) for b in breached), breached
    assert code == 1, stderr[-2000:]  # chaos's exit code for a deviated run


# Timing under load on 2 shared cores: one rerun, visible as "R" and "rerun" in pytest's summary.
@pytest.mark.flaky(reruns=1, reruns_delay=5)
@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_the_reference_agent_holds_through_the_proxy(
    name: str, proxy_target: LocalTarget, tmp_path: Path
) -> None:
    fault_target, lands_on = EXPERIMENTS[name]
    apis = {e.name: e.client() for e in proxy_target.fault_endpoints()}
    assert proxy_target.chaos_env()["STAMPEDE_FAULT_API_URL"] == apis["proxy"].base_url
    proxy = {s.name: s for s in proxy_target.metrics_sources()}["proxy"]
    toolbox = MetricsSource("toolbox", f"{apis['toolbox'].base_url}/metrics")
    scrape = {
        "injected": (proxy, "stampede_proxy_faults_injected_total"),
        "delay": (proxy, "stampede_proxy_added_delay_seconds_sum"),
        "toolbox": (toolbox, "toolbox_calls_total"),
    }
    before = {key: _samples(*where) for key, where in scrape.items()}
    agent_url = load_state(proxy_target.state_file).agent.url

    with _faults_seen(apis) as seen, _load(agent_url, LOAD.get(name, 0.0)) as load:
        code, journal, stderr = _run(name, proxy_target, tmp_path)

    _assert_holds(name, code, journal, stderr)
    injected = [r for r in journal["run"] if r["activity"]["provider"]["func"] == "inject_fault"]
    assert [r["output"]["fault_api"] for r in injected] == [apis[lands_on].base_url]
    other = "toolbox" if lands_on == "proxy" else "proxy"
    assert seen == {lands_on: {fault_target}, other: set()}
    assert apis["proxy"].active() == {} and apis["toolbox"].active() == {}
    grown = {key: _grown(before[key], _samples(*where)) for key, where in scrape.items()}
    toolbox_results = {labels["result"] for labels in _labels(grown["toolbox"])}
    if lands_on == "toolbox":
        assert grown["injected"] == {}, grown["injected"]
        assert WORLD_RESULT[name] in toolbox_results, grown["toolbox"]
        return
    assert toolbox_results == {"ok"}, grown["toolbox"]  # the toolbox itself injected nothing
    if name in LATENCY_S:
        delay = sum(
            v for k, v in grown["delay"].items() if json.loads(k)["upstream"] == fault_target
        )
        assert delay >= LATENCY_S[name], grown["delay"]
    kinds = {labels["fault"] for labels in _labels(grown["injected"])}
    assert INJECTED_KIND[name] in kinds, grown["injected"]
    assert len(load) >= LOAD.get(name, 0.0) * 10  # the load ran for the whole experiment
