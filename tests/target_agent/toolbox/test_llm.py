"""The simulated LLM: planner and reasoner turns for every incident, parsing, usage, faults."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from target_agent.toolbox.catalogue import PLAYBOOK, Incident, by_service, catalogue
from target_agent.toolbox.llm import (
    ChatMessage,
    ToolEvidence,
    completion_tokens,
    conclude,
    find_alert,
    prompt_tokens,
    read_tool_message,
    text_of,
)
from tests.target_agent.toolbox.support import calls_total, make_settings, open_client, set_fault

pytestmark = pytest.mark.anyio

INCIDENTS = catalogue(0)
SYSTEM = {"role": "system", "content": "You are an SRE. Investigate the alert."}


def user_turn(incident: Incident) -> dict[str, Any]:
    return {"role": "user", "content": f"Alert:\n{json.dumps(incident.alert())}\nInvestigate."}


async def chat(client: httpx.AsyncClient, messages: list[dict[str, Any]]) -> dict[str, Any]:
    response = await client.post(
        "/v1/chat/completions", json={"model": "stampede-sim", "messages": messages}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def investigate(
    client: httpx.AsyncClient, incident: Incident, parts: bool = False
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """Planner turn, real tool calls, reasoner turn; (planner, reasoner, conversation)."""
    messages = [SYSTEM, user_turn(incident)]
    planner = await chat(client, messages)
    assistant = planner["choices"][0]["message"]
    messages.append(assistant)
    for call in assistant.get("tool_calls") or []:
        answer = await client.post(
            f"/tools/{call['function']['name']}", json=json.loads(call["function"]["arguments"])
        )
        content: Any = answer.text
        if parts:
            content = [{"type": "text", "text": answer.text}]
        messages.append({"role": "tool", "tool_call_id": call["id"], "content": content})
    return planner, await chat(client, messages), messages


@pytest.mark.parametrize("incident", INCIDENTS, ids=[i.service for i in INCIDENTS])
async def test_incident_is_planned_and_solved(
    client: httpx.AsyncClient, incident: Incident
) -> None:
    planner, reasoner, _ = await investigate(client, incident)
    choice = planner["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    calls = choice["message"]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == list(PLAYBOOK[incident.alert_type])
    assert all(
        json.loads(c["function"]["arguments"]) == {"service": incident.service} for c in calls
    )
    assert all(c["type"] == "function" for c in calls)
    assert len({c["id"] for c in calls}) == len(calls)

    answer = reasoner["choices"][0]
    assert answer["finish_reason"] == "stop"
    verdict = json.loads(answer["message"]["content"])
    assert verdict["root_cause"] == incident.root_cause
    assert verdict["cited_evidence"] == incident.supporting_tools()
    assert len(verdict["cited_evidence"]) >= 2
    assert isinstance(verdict["explanation"], str)


async def test_completion_has_the_openai_shape(client: httpx.AsyncClient) -> None:
    body = await chat(client, [user_turn(INCIDENTS[0])])
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl-")
    assert isinstance(body["created"], int)
    assert body["model"] == "stampede-sim"
    assert body["choices"][0]["index"] == 0
    assert body["choices"][0]["message"]["role"] == "assistant"
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


async def test_tool_content_as_content_parts(client: httpx.AsyncClient) -> None:
    incident = by_service("billing")
    assert incident is not None
    _, reasoner, _ = await investigate(client, incident, parts=True)
    verdict = json.loads(reasoner["choices"][0]["message"]["content"])
    assert verdict["root_cause"] == "bad_deploy"


async def test_failed_tool_text_contributes_no_findings(client: httpx.AsyncClient) -> None:
    incident = by_service("checkout")
    assert incident is not None
    _, _, messages = await investigate(client, incident)
    logs = next(m for m in messages if m.get("tool_call_id") == "call_1_get_logs")
    logs["content"] = "error: get_logs failed: HTTP 503 Service Unavailable"
    verdict = json.loads((await chat(client, messages))["choices"][0]["message"]["content"])
    assert verdict["root_cause"] == incident.root_cause
    assert verdict["cited_evidence"] == ["get_metrics"]
    for message in messages:
        if message["role"] == "tool":
            message["content"] = "Error: tool call timed out"
    verdict = json.loads((await chat(client, messages))["choices"][0]["message"]["content"])
    assert verdict == {
        "root_cause": None,
        "cited_evidence": [],
        "explanation": "no tool finding supports a root cause",
    }


async def test_lying_tools_make_the_reasoner_back_the_decoy(client: httpx.AsyncClient) -> None:
    incident = by_service("checkout")
    assert incident is not None
    await set_fault(client, "tools", lie=True)
    _, reasoner, _ = await investigate(client, incident)
    verdict = json.loads(reasoner["choices"][0]["message"]["content"])
    assert verdict["root_cause"] == incident.decoy_cause


async def test_hallucinate_names_the_decoy_citing_every_tool(client: httpx.AsyncClient) -> None:
    incident = by_service("inventory")
    assert incident is not None
    await set_fault(client, "llm", hallucinate=True)
    planner, reasoner, _ = await investigate(client, incident)
    assert planner["choices"][0]["finish_reason"] == "tool_calls", "planning is unaffected"
    verdict = json.loads(reasoner["choices"][0]["message"]["content"])
    assert verdict["root_cause"] == incident.decoy_cause
    assert verdict["cited_evidence"] == list(PLAYBOOK[incident.alert_type])
    counts = await calls_total(client)
    assert counts[("llm", "hallucinate")] == 1
    assert counts[("llm", "ok")] == 1


async def test_hallucinate_finds_the_service_in_tool_answers(client: httpx.AsyncClient) -> None:
    incident = by_service("ledger")
    assert incident is not None
    await set_fault(client, "llm", hallucinate=True)
    _, _, messages = await investigate(client, incident)
    reasoner_only = [m for m in messages if m["role"] != "user"]
    verdict = json.loads((await chat(client, reasoner_only))["choices"][0]["message"]["content"])
    assert verdict["root_cause"] == incident.decoy_cause


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("please investigate the checkout service", "I need an alert"),
        ('{"alert_type": "disk_full", "service": "checkout"}', "No playbook for alert type"),
    ],
    ids=["no-alert", "unknown-alert-type"],
)
async def test_planner_without_a_usable_alert_answers_in_text(
    client: httpx.AsyncClient, content: str, reason: str
) -> None:
    choice = (await chat(client, [{"role": "user", "content": content}]))["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert "tool_calls" not in choice["message"]
    assert choice["message"]["content"].startswith(reason)


async def test_streaming_rebuilds_the_same_completion(client: httpx.AsyncClient) -> None:
    """``stream: true`` answers OpenAI chunks that add up to the non-streamed answer, with
    ``usage`` in the last chunk and ``[DONE]`` at the end."""
    request = {"model": "m", "messages": [user_turn(INCIDENTS[0])]}
    whole = await chat(client, request["messages"])
    response = await client.post("/v1/chat/completions", json={**request, "stream": True})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [line[6:] for line in response.text.split("\n\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert {chunk["object"] for chunk in chunks} == {"chat.completion.chunk"}
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == whole["usage"]
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    arguments: dict[int, str] = {}
    names: dict[int, str] = {}
    for chunk in chunks[:-1]:
        for call in chunk["choices"][0]["delta"].get("tool_calls", []):
            names.setdefault(call["index"], call["function"].get("name", ""))
            arguments[call["index"]] = (
                arguments.get(call["index"], "") + call["function"]["arguments"]
            )
    expected = whole["choices"][0]["message"]["tool_calls"]
    assert [names[i] for i in sorted(names)] == [c["function"]["name"] for c in expected]
    assert [arguments[i] for i in sorted(arguments)] == [
        c["function"]["arguments"] for c in expected
    ]


async def test_models_lists_the_simulated_model(client: httpx.AsyncClient) -> None:
    body = (await client.get("/v1/models")).json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == ["stampede-sim"]


async def test_usage_follows_the_formula(client: httpx.AsyncClient) -> None:
    messages = [SYSTEM, user_turn(INCIDENTS[0])]
    body = await chat(client, messages)
    calls = body["choices"][0]["message"]["tool_calls"]
    output = "".join(c["function"]["name"] + c["function"]["arguments"] for c in calls)
    expected_prompt = sum(len(m["content"]) // 4 + 4 for m in messages)
    assert body["usage"]["prompt_tokens"] == expected_prompt
    assert body["usage"]["completion_tokens"] == len(output) // 4 + 1


async def test_same_seed_same_usage_other_seed_other_data() -> None:
    incident = INCIDENTS[3]

    async def usages(seed: int) -> list[dict[str, int]]:
        async with open_client(make_settings(seed=seed)) as client:
            planner, reasoner, _ = await investigate(client, incident)
            return [planner["usage"], reasoner["usage"]]

    assert await usages(5) == await usages(5)
    assert catalogue(5) == catalogue(5)
    assert catalogue(5) != catalogue(6)


# -- pure parsing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "text"),
    [
        (None, ""),
        ("plain", "plain"),
        ([{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {}}, "b"], "ab"),
        ([{"type": "text", "text": 3}, 7, None], ""),
    ],
    ids=["none", "string", "parts", "junk-parts"],
)
def test_text_of(content: Any, text: str) -> None:
    assert text_of(content) == text


@pytest.mark.parametrize(
    ("text", "service"),
    [
        ('{"alert_type": "crash_loop", "service": "billing"}', "billing"),
        ('Alert {"alert": {"alert_type": "crash_loop", "service": "media"}} now', "media"),
        ('{broken {"alert_type": "error_rate", "service": "auth", "labels": {}}', "auth"),
        ('{"alert_type": 1, "service": "auth"}', None),
        ("no json here {", None),
    ],
    ids=["bare", "nested", "after-garbage", "non-string-type", "none"],
)
def test_find_alert(text: str, service: str | None) -> None:
    alert = find_alert(text)
    assert (alert["service"] if alert else None) == service


@pytest.mark.parametrize(
    "content",
    [
        "timeout",
        "[1, 2]",
        '{"findings": "many"}',
        '{"findings": [1, {"supports": 5}, {"supports": ""}, {"supports": null}]}',
        [{"type": "text", "text": "{not json"}],
    ],
    ids=["text", "list", "findings-not-list", "junk-findings", "parts-not-json"],
)
def test_unusable_tool_messages_support_nothing(content: Any) -> None:
    message = ChatMessage(role="tool", content=content, tool_call_id="c1")
    assert read_tool_message(message, {"c1": "get_logs"}) == ToolEvidence("get_logs", None, ())


def test_most_supported_cause_wins_ties_go_to_first_seen() -> None:
    evidence = [
        ToolEvidence("a", None, ("x",)),
        ToolEvidence("b", None, ("y",)),
        ToolEvidence("c", None, ("y", "x")),
    ]
    assert conclude(evidence)["root_cause"] == "x"
    assert conclude(evidence)["cited_evidence"] == ["a", "c"]
    evidence.append(ToolEvidence("d", None, ("y",)))
    assert conclude(evidence)["cited_evidence"] == ["b", "c", "d"]


def test_token_formulas() -> None:
    messages = [ChatMessage(role="user", content="x" * 9), ChatMessage(role="assistant")]
    assert prompt_tokens(messages) == (9 // 4 + 4) + (0 + 4)
    assert completion_tokens("y" * 8) == 3
