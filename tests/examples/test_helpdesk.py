"""The helpdesk example agent, as real processes, asked through its declarative profile.

One scripted LLM and one tool service are shared by the module; each test starts the agent
configuration it needs (plain, streaming, a lying tool, a dead tool service).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from loadtests.declarative import DeclarativeProfile, load_declarative_profile
from loadtests.profile import Reply
from stampede import procs
from stampede.cases import Case, load_cases
from stampede.contract import Outcome
from tests.examples.support import (
    EXAMPLE,
    Service,
    ask,
    lying_knowledge,
    start_agent,
    start_tools,
)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def agent(logs: Path, llm: Service, tools: Service) -> Iterator[Service]:
    service = start_agent(logs, llm.url, tools.url)
    yield service
    procs.stop(service.proc)


@pytest.fixture(scope="module")
def profile() -> DeclarativeProfile:
    return load_declarative_profile(EXAMPLE / "profile.yaml")


@pytest.fixture(scope="module")
def cases(profile: DeclarativeProfile) -> tuple[Case, ...]:
    loaded = load_cases(EXAMPLE / "cases.yaml")
    profile.check_cases(loaded)
    return loaded


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=10.0) as c:
        yield c


def _case(cases: tuple[Case, ...], case_id: str) -> Case:
    return next(c for c in cases if c.id == case_id)


def test_every_case_is_correct_without_faults(
    agent: Service, profile: DeclarativeProfile, cases: tuple[Case, ...], client: httpx.Client
) -> None:
    """Each of the example's cases, asked once, is judged correct, with tokens and replica."""
    assert len(cases) >= 12
    verdicts = {case.id: ask(client, agent.url, profile, case) for case in cases}
    wrong = {k: (v.outcome, v.reason) for k, v in verdicts.items() if v.outcome != "correct"}
    assert wrong == {}
    sample = verdicts["oncall-checkout"]
    assert sample.tokens and sample.tokens > 0
    assert sample.cost_usd and sample.cost_usd > 0
    assert sample.replica == "agent"
    assert sample.investigation_id


def test_streaming_llm_gives_the_same_verdicts(
    logs: Path,
    llm: Service,
    tools: Service,
    profile: DeclarativeProfile,
    cases: tuple[Case, ...],
    client: httpx.Client,
) -> None:
    """With HELPDESK_LLM_STREAM the agent reads SSE chunks; answers and usage still arrive."""
    streaming = start_agent(logs, llm.url, tools.url, "streaming", llm_stream="true")
    try:
        verdicts = [ask(client, streaming.url, profile, case) for case in cases]
    finally:
        procs.stop(streaming.proc)
    assert [v.outcome for v in verdicts] == [Outcome.CORRECT] * len(cases)
    assert all(v.tokens and v.tokens > 0 for v in verdicts)


def test_a_lying_tool_makes_the_answer_wrong(
    logs: Path,
    llm: Service,
    tools: Service,
    profile: DeclarativeProfile,
    cases: tuple[Case, ...],
    client: httpx.Client,
) -> None:
    """get_oncall routed (HELPDESK_TOOL_URLS) to a service that names the wrong on-call: the
    answer is confident and wrong; lookup_service stays honest, so other cases stay correct."""
    lies = lying_knowledge(logs / "lies.json", "payments", "Mallory Stone")
    liar = start_tools(logs, lies, "lying-tools")
    agent = start_agent(
        logs, llm.url, tools.url, "fooled", tool_urls=json.dumps({"get_oncall": liar.url})
    )
    try:
        lied_about = ask(client, agent.url, profile, _case(cases, "oncall-checkout"))
        untouched = ask(client, agent.url, profile, _case(cases, "status-email"))
    finally:
        procs.stop(agent.proc)
        procs.stop(liar.proc)
    assert lied_about.outcome == Outcome.WRONG, lied_about.reason
    assert "Mallory Stone" in lied_about.reason
    assert untouched.outcome == Outcome.CORRECT, untouched.reason


def test_a_dead_tool_service_gives_degraded_answers(
    logs: Path,
    llm: Service,
    profile: DeclarativeProfile,
    cases: tuple[Case, ...],
    client: httpx.Client,
) -> None:
    """Tools that refuse connections: the agent says so (partial), judged degraded, not wrong."""
    nowhere = f"http://{procs.LOCALHOST}:{procs.free_port()}"
    agent = start_agent(logs, llm.url, nowhere, "toolless", tool_retries="1")
    try:
        verdict = ask(client, agent.url, profile, _case(cases, "status-email"))
        metrics = client.get(agent.url + "/metrics").text
    finally:
        procs.stop(agent.proc)
    assert verdict.outcome == Outcome.DEGRADED, verdict.reason
    assert verdict.retries == 1
    assert 'helpdesk_tool_retries_total{tool="lookup_service"} 1.0' in metrics


def test_a_dead_llm_is_an_error(
    logs: Path,
    tools: Service,
    profile: DeclarativeProfile,
    cases: tuple[Case, ...],
    client: httpx.Client,
) -> None:
    """No LLM: the agent answers 502 and the profile judges it an error."""
    nowhere = f"http://{procs.LOCALHOST}:{procs.free_port()}"
    agent = start_agent(logs, nowhere, tools.url, "llmless")
    try:
        verdict = ask(client, agent.url, profile, cases[0])
    finally:
        procs.stop(agent.proc)
    assert verdict.outcome == Outcome.ERROR
    assert verdict.reason.startswith("HTTP 502"), verdict.reason


def test_lookup_returns_the_stored_answer(
    agent: Service, profile: DeclarativeProfile, cases: tuple[Case, ...], client: httpx.Client
) -> None:
    """The profile's look-up fetches an answer by id; an unknown id is lost (error)."""
    first = ask(client, agent.url, profile, cases[0])
    assert first.investigation_id
    for answer_id, expected in ((first.investigation_id, Outcome.CORRECT), ("nope", Outcome.ERROR)):
        spec = profile.lookup(answer_id)
        assert spec is not None
        response = client.request(spec.method, agent.url + spec.path)
        headers = {k.lower(): v for k, v in response.headers.items()}
        reply = Reply(response.status_code, response.content, headers)
        assert profile.judge_lookup(answer_id, reply).outcome == expected


def test_every_mapped_series_is_exposed(
    agent: Service, profile: DeclarativeProfile, client: httpx.Client
) -> None:
    """The profile's metric map names series the agent really exposes (none absent)."""
    text = client.get(agent.url + "/metrics").text
    seen = {s.name for f in text_string_to_metric_families(text) for s in f.samples}
    mapping = profile.metric_map
    assert set(mapping.mappings) >= {"breaker_state", "retries_total", "in_flight", "queue_depth"}
    assert mapping.absent(seen) == []
    assert mapping.absent(seen - {"helpdesk_queue_depth"}) == ["queue_depth"]
