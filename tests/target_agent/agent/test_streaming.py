"""The agent with ``AGENT_LLM_STREAM=true`` (real agent processes, real toolbox, real Redis).

Streaming changes how the answer travels, nothing else: the same 16/16, the same tokens and
cost (from ``usage`` in the last chunk), the same outcome under the toolbox's LLM faults as the
plain agent; and the stream-only faults (slow tokens, a cut stream, a malformed chunk) are
failed LLM calls — timed out, retried, counted, a degraded answer, never a 503. The plain agent
beside it ignores those faults, which proves the streaming one really streams.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from stampede import procs
from target_agent.agent.llm import LLMClient, build_chat_model
from target_agent.agent.resilience.errors import (
    AttemptTimeout,
    DependencyError,
    DependencyUnavailable,
)
from target_agent.agent.settings import Settings
from target_agent.toolbox.catalogue import Incident
from tests.conftest import Server
from tests.target_agent.agent.support import (
    FAST,
    incidents,
    metric_value,
    set_fault,
    spawn_agent,
)

pytestmark = pytest.mark.anyio

#: FAST as the agent's environment (spawn_agent prefixes AGENT_). The retry budget refills
#: fast, so a test's retries do not depend on what an earlier test spent (it is not under test).
FAST_ENV = {**{key: str(value) for key, value in FAST.items()}, "retry_budget_min_per_s": "50"}
DEADLINE_S = float(FAST["deadline_s"])


@dataclass(frozen=True)
class Agent:
    url: str
    proc: procs.Proc


@dataclass(frozen=True)
class Run:
    """One batch of investigations: every answer, in incident order, and how long each took."""

    bodies: list[dict[str, Any]]
    latencies: list[float]

    @property
    def outcomes(self) -> list[str]:
        return [outcome(body) for body in self.bodies]


def outcome(body: dict[str, Any]) -> str:
    """correct / wrong (a root cause, not the catalogue's) / degraded (no root cause)."""
    if body["status"] != "complete":
        assert body["root_cause"] is None, body
        return "degraded"
    expected = next(i.root_cause for i in incidents() if i.service == body["alert"]["service"])
    return "correct" if body["root_cause"] == expected else "wrong"


def start(toolbox: Server, redis_url: str, log: Path, stream: bool, **env: str) -> Agent:
    """One agent process (one worker) with FAST settings, ``AGENT_LLM_STREAM`` and ``env``."""
    full = {**FAST_ENV, **env, "llm_stream": str(stream).lower()}
    proc, url = spawn_agent(toolbox, redis_url, log, 1, **full)
    return Agent(url, proc)


@pytest.fixture(scope="module")
def agents(
    shared_toolbox: Server, shared_redis: Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Agent]]:
    """A streaming and a plain agent, same settings, same toolbox and Redis."""
    logs = tmp_path_factory.mktemp("streaming-agents")
    started: dict[str, Agent] = {}
    try:
        for name, stream in (("stream", True), ("plain", False)):
            started[name] = start(shared_toolbox, shared_redis.url, logs / f"{name}.log", stream)
        yield started
    finally:
        for agent in started.values():
            procs.stop(agent.proc)


async def investigate(url: str, chosen: tuple[Incident, ...], concurrency: int = 8) -> Run:
    """POST every incident of ``chosen``; every answer must be a 200."""
    gate = asyncio.Semaphore(concurrency)

    async def one(client: httpx.AsyncClient, incident: Incident) -> tuple[dict[str, Any], float]:
        async with gate:
            started = time.monotonic()
            response = await client.post(f"{url}/investigate", json=incident.alert())
            elapsed = time.monotonic() - started
        assert response.status_code == 200, response.text
        return response.json(), elapsed

    async with httpx.AsyncClient(timeout=60, trust_env=False) as client:
        results = await asyncio.gather(*(one(client, i) for i in chosen))
    return Run([body for body, _ in results], [elapsed for _, elapsed in results])


async def metrics(url: str) -> str:
    async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
        return (await client.get(f"{url}/metrics")).text


async def settle(agent: Agent) -> None:
    """Wait until the agent answers an investigation completely (a breaker a fault opened in
    an earlier test has closed again): bounded, fails with the last answer."""
    incident = incidents()[0]
    body: dict[str, Any] = {}
    end = time.monotonic() + 20
    while time.monotonic() < end:
        body = (await investigate(agent.url, (incident,), 1)).bodies[0]
        if outcome(body) == "correct":
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"agent at {agent.url} never answered completely again: {body}")


@pytest.fixture
async def ready(toolbox: Server, agents: dict[str, Agent]) -> dict[str, Agent]:
    """Both agents, no fault set, answering completely."""
    for agent in agents.values():
        await settle(agent)
    return agents


async def test_streaming_answers_like_the_plain_agent(ready: dict[str, Agent]) -> None:
    """16/16 correct either way, with the same tokens and cost per incident (usage counted)."""
    streamed = await investigate(ready["stream"].url, incidents())
    plain = await investigate(ready["plain"].url, incidents())
    assert streamed.outcomes == ["correct"] * len(incidents())
    assert plain.outcomes == ["correct"] * len(incidents())
    for s, p in zip(streamed.bodies, plain.bodies, strict=True):
        assert s["tokens"] > 0
        assert (s["tokens"], s["cost_usd"]) == (p["tokens"], p["cost_usd"]), s["alert"]


@pytest.mark.parametrize(
    ("spec", "count", "expected"),
    [
        ({"hallucinate": True}, 16, {"degraded"}),
        ({"latency_ms": 300}, 16, {"correct"}),
        # Longer than AGENT_LLM_TIMEOUT_S (2 s) before the first byte: every attempt times out.
        ({"latency_ms": 2500}, 4, {"degraded"}),
    ],
    ids=["hallucinate", "latency-300ms", "latency-over-timeout"],
)
async def test_toolbox_llm_faults_move_both_agents_alike(
    ready: dict[str, Agent], toolbox: Server, spec: dict[str, Any], count: int, expected: set[str]
) -> None:
    await set_fault(toolbox, "llm", **spec)
    chosen = incidents()[:count]
    streamed, plain = await asyncio.gather(
        investigate(ready["stream"].url, chosen), investigate(ready["plain"].url, chosen)
    )
    assert streamed.outcomes == plain.outcomes
    assert set(streamed.outcomes) == expected
    if spec.get("hallucinate"):
        suspected = [body["suspected_root_cause"] for body in streamed.bodies]
        assert suspected == [i.decoy_cause for i in chosen]
    if spec.get("latency_ms", 0) > FAST["llm_timeout_s"] * 1000:
        assert all(body["retries"] >= 1 for body in streamed.bodies)
        assert max(streamed.latencies) < DEADLINE_S + 2.0


async def test_slow_tokens_are_bounded_by_the_attempt_timeout(
    ready: dict[str, Agent], toolbox: Server
) -> None:
    """Tokens 0.4 s apart: each gap passes httpx's 2 s read timeout, but a planner stream
    (~13 events, ~5 s) does not fit the 2 s attempt timeout, so the timeout covers the whole
    stream: the planner times out and is retried, the playbook stands in, the reasoner times
    out too, the answer is degraded within the deadline. The plain agent is not slowed."""
    before = await metrics(ready["stream"].url)
    await set_fault(toolbox, "llm", stream_token_ms=400)
    chosen = incidents()[:4]
    streamed, plain = await asyncio.gather(
        investigate(ready["stream"].url, chosen), investigate(ready["plain"].url, chosen)
    )
    after = await metrics(ready["stream"].url)
    assert plain.outcomes == ["correct"] * len(chosen)
    assert streamed.outcomes == ["degraded"] * len(chosen)
    assert all(body["retries"] >= 1 for body in streamed.bodies)
    assert all(body["tokens"] == 0 for body in streamed.bodies)  # no answer got to its usage
    assert max(streamed.latencies) < DEADLINE_S + 2.0

    def delta(name: str, **labels: str) -> float:
        return metric_value(after, name, **labels) - metric_value(before, name, **labels)

    assert delta("agent_fallbacks_total", dependency="llm", kind="playbook") == len(chosen)
    assert delta("agent_fallbacks_total", dependency="llm", kind="degraded") == len(chosen)
    assert delta("agent_retries_total", dependency="llm") == sum(
        body["retries"] for body in streamed.bodies
    )


@pytest.mark.parametrize(
    "spec",
    [{"stream_cut_after": 2}, {"stream_malformed_chunk": 2}],
    ids=["cut-after-2-chunks", "malformed-chunk-2"],
)
async def test_a_broken_stream_is_a_failed_llm_call(
    ready: dict[str, Agent], toolbox: Server, spec: dict[str, Any]
) -> None:
    """Every LLM stream broken: 200 and degraded (never 503), retries counted in the answers
    and in agent_retries_total; the plain agent (no stream) answers correctly."""
    before = await metrics(ready["stream"].url)
    await set_fault(toolbox, "llm", **spec)
    chosen = incidents()[:8]
    streamed, plain = await asyncio.gather(
        investigate(ready["stream"].url, chosen), investigate(ready["plain"].url, chosen)
    )
    after = await metrics(ready["stream"].url)
    assert plain.outcomes == ["correct"] * len(chosen)
    assert streamed.outcomes == ["degraded"] * len(chosen)
    retries = sum(body["retries"] for body in streamed.bodies)
    assert retries >= len(chosen)  # the first planner calls, before the breaker opens
    assert (
        metric_value(after, "agent_retries_total", dependency="llm")
        - metric_value(before, "agent_retries_total", dependency="llm")
        == retries
    )
    assert metric_value(after, "agent_requests_total", outcome="error") == metric_value(
        before, "agent_requests_total", outcome="error"
    )


@dataclass(frozen=True)
class Proxy:
    url: str
    token: str

    async def set_fault(self, target: str, **spec: Any) -> None:
        async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
            response = await client.put(
                f"{self.url}/faults/{target}",
                json={"ttl_s": 60, **spec},
                headers={"Authorization": f"Bearer {self.token}"},
            )
        response.raise_for_status()


async def test_a_stream_cut_by_the_proxy_is_a_failed_llm_call(
    toolbox: Server, shared_redis: Server, tmp_path: Path
) -> None:
    """agent -> ``stampede proxy`` -> toolbox, the LLM streamed through the proxy: 4/4 correct
    without a fault; with ``stream_cut_after: 2`` on ``llm`` every answer is degraded (200),
    the agent retries the cut calls and counts them, and the proxy counts the cuts."""
    port, token = procs.free_port(), secrets.token_hex(8)
    proxy_proc = procs.spawn_proxy(
        port, tmp_path / "proxy.log", token, {"llm": f"{toolbox.url}/v1"}
    )
    agent: Agent | None = None
    try:
        procs.ensure_ready(proxy_proc, procs.proxy_ready(port), "proxy", 30)
        proxy = Proxy(f"http://{procs.LOCALHOST}:{port}", token)
        agent = start(
            toolbox,
            shared_redis.url,
            tmp_path / "agent.log",
            True,
            llm_base_url=f"{proxy.url}/llm",
        )
        chosen = incidents()[:4]
        clean = await investigate(agent.url, chosen)
        assert clean.outcomes == ["correct"] * len(chosen)
        assert all(body["tokens"] > 0 for body in clean.bodies)

        await proxy.set_fault("llm", stream_cut_after=2)
        before = await metrics(agent.url)
        cut = await investigate(agent.url, chosen)
        after = await metrics(agent.url)
        assert cut.outcomes == ["degraded"] * len(chosen)
        retries = sum(body["retries"] for body in cut.bodies)
        assert retries >= len(chosen)
        assert (
            metric_value(after, "agent_retries_total", dependency="llm")
            - metric_value(before, "agent_retries_total", dependency="llm")
            == retries
        )
        proxy_text = await metrics(proxy.url)
        # at least every investigation's first planner call reached the proxy and was cut
        assert metric_value(
            proxy_text, "stampede_proxy_faults_injected_total", upstream="llm", fault="stream_cut"
        ) >= len(chosen)
    finally:
        if agent is not None:
            procs.stop(agent.proc)
        procs.stop(proxy_proc)


# -- the client, in process ----------------------------------------------------------------------


async def test_the_setting_turns_streaming_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """AGENT_LLM_STREAM is off by default; on, the model streams and asks for usage."""
    monkeypatch.delenv("AGENT_LLM_STREAM", raising=False)
    assert Settings().llm_stream is False
    monkeypatch.setenv("AGENT_LLM_STREAM", "true")
    assert Settings().llm_stream is True
    async with httpx.AsyncClient(trust_env=False) as http:
        plain = build_chat_model("http://127.0.0.1:9/v1", "k", "m", 1.5, http)
        streamed = build_chat_model("http://127.0.0.1:9/v1", "k", "m", 1.5, http, stream=True)
    assert (plain.streaming, plain.stream_usage, plain.max_retries) == (False, None, 0)
    assert (streamed.streaming, streamed.stream_usage, streamed.max_retries) == (True, True, 0)
    assert streamed.stream_chunk_timeout == 1.5


class _Failing:
    """A chat model whose every call raises ``exc`` (what a transport error mid-stream is)."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def bind_tools(self, _tools: Any) -> _Failing:
        return self

    async def ainvoke(self, _messages: Any) -> Any:
        raise self.exc


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (httpx.RemoteProtocolError("peer closed connection"), DependencyUnavailable),
        (httpx.ReadTimeout("read timed out"), AttemptTimeout),
        (ValueError("Unterminated string"), DependencyUnavailable),
    ],
    ids=["raw-cut", "raw-read-timeout", "malformed-chunk"],
)
async def test_raw_stream_errors_are_dependency_errors(
    exc: BaseException, expected: type[DependencyError]
) -> None:
    """Should an SDK let httpx's own error out of a stream, it is still a failed LLM call."""
    client = LLMClient(_Failing(exc))  # type: ignore[arg-type]
    with pytest.raises(expected) as raised:
        await client.plan([])
    assert type(raised.value) is expected
    assert raised.value.__cause__ is exc
