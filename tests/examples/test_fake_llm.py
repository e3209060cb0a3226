"""The helpdesk's scripted LLM: its policy, and its wire format as a real openai client sees it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from examples.helpdesk.fake_llm import ToolResult, entity, intent, next_step
from stampede import procs
from tests.examples.support import Service, start_llm

pytestmark = pytest.mark.timeout(60)

TOOLS: Any = [
    {"type": "function", "function": {"name": n, "parameters": {"type": "object"}}}
    for n in ("lookup_service", "get_oncall")
]


@pytest.mark.parametrize(
    ("question", "want", "name", "is_team"),
    [
        ("Who is on call for checkout?", "oncall", "checkout", False),
        ("Who is the secondary on call for the payments team?", "secondary", "payments", True),
        ("Which version of search is deployed?", "version", "search", False),
        ("How slow is vpn?", "latency", "vpn", False),
        ("Why is the wiki down?", "incident", "wiki", False),
        ("Which team owns vpn?", "owner", "vpn", False),
        ("Is the vpn up?", "status", "vpn", False),
    ],
    ids=["oncall", "secondary-team", "version", "latency", "incident", "owner", "status"],
)
def test_intent_and_entity(question: str, want: str, name: str, is_team: bool) -> None:
    assert intent(question) == want
    assert entity(question) == (name, is_team)


def test_oncall_for_a_service_takes_two_tools_then_answers_from_them() -> None:
    q = "Who is on call for checkout?"
    assert next_step(q, []).tool == "lookup_service"
    service = ToolResult("lookup_service", {"name": "checkout", "owner": "payments"}, "")
    second = next_step(q, [service])
    assert (second.tool, second.arguments) == ("get_oncall", {"team": "payments"})
    oncall = ToolResult("get_oncall", {"team": "payments", "primary": "X Y"}, "")
    assert (
        next_step(q, [service, oncall]).text == "X Y is the primary on call for the payments team."
    )


def test_a_failed_tool_gives_an_answer_without_a_claim() -> None:
    failed = ToolResult("lookup_service", None, "ERROR: lookup_service failed: HTTP 503")
    step = next_step("What is the status of email?", [failed])
    assert not step.tool
    assert "could not complete the look-up" in step.text


@pytest.fixture(scope="module")
def llm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    service = start_llm(Path(tmp_path_factory.mktemp("fake-llm")))
    yield service
    procs.stop(service.proc)


def test_a_real_openai_client_reads_tool_calls_and_streams(llm: Service) -> None:
    """Plain and streamed replies carry the same tool call and the same usage."""
    client = openai.OpenAI(base_url=f"{llm.url}/v1", api_key="x", max_retries=0)
    messages: Any = [{"role": "user", "content": "Who owns vpn?"}]
    plain = client.chat.completions.create(model="m", messages=messages, tools=TOOLS)
    call = plain.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert (call.function.name, json.loads(call.function.arguments)) == (  # type: ignore[union-attr]
        "lookup_service",
        {"name": "vpn"},
    )
    assert plain.usage is not None and plain.usage.total_tokens > 0
    chunks = list(
        client.chat.completions.create(
            model="m",
            messages=messages,
            tools=TOOLS,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    arguments = "".join(
        tc.function.arguments or ""
        for c in chunks
        for choice in c.choices
        for tc in choice.delta.tool_calls or ()
        if tc.function is not None
    )
    assert json.loads(arguments) == {"name": "vpn"}
    assert chunks[-1].choices == [] and chunks[-1].usage == plain.usage
    finishes = [ch.finish_reason for c in chunks for ch in c.choices if ch.finish_reason]
    assert finishes == ["tool_calls"]
