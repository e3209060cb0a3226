"""The simulated LLM: OpenAI-compatible chat completions that plan and reason from the catalogue.

Two turns, told apart by the conversation:

* *planner* (no ``tool`` message yet): find the alert JSON (``alert_type`` + ``service``) in the
  last user message that has one and call every tool of ``PLAYBOOK[alert_type]`` with
  ``{"service": ...}``. No alert or an unknown alert type: a plain answer saying so, no tool call.
* *reasoner* (at least one ``tool`` message): count the findings supporting each cause across the
  tool messages; the cause with the most wins (ties: first seen) and the tools whose findings
  support it are cited. A tool message that is not a JSON object with a ``findings`` list (an
  error text) contributes nothing. ``hallucinate`` names the incident's decoy and cites every tool.

Token usage is a formula, no tokenizer: prompt = sum over messages of ``len(content)//4 + 4``;
completion = ``len(output)//4 + 1``, where the output is the answer text, or for tool calls the
concatenation of each call's name and arguments.

Streaming (``stream: true``): the same completion cut into OpenAI ``chat.completion.chunk``
events — the role first, then the content word by word, or each tool call (id and name, then
its arguments in two halves), then the finish reason, then a last chunk with no choices and
the ``usage``, then ``data: [DONE]``.

Everything here is pure: the route passes the request, the catalogue and the fault decision.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from target_agent.toolbox.catalogue import PLAYBOOK, Incident

#: The cause a hallucinating reasoner names when it cannot tell which incident it is on.
FALLBACK_HALLUCINATION = "dns_misconfiguration"
#: How far into a message the alert is looked for, and how many ``{`` are tried.
_MAX_SCAN_CHARS = 65_536
_MAX_SCAN_OBJECTS = 256

_decoder = json.JSONDecoder()


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[Any] | None = None
    name: str | None = None
    tool_call_id: str | None = None
    tool_calls: list[Any] | None = None


class ChatRequest(BaseModel):
    """The part of an OpenAI chat-completions request the simulator reads; the rest is ignored."""

    model_config = ConfigDict(extra="allow")

    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    tools: list[Any] | None = None
    stream: bool | None = False


@dataclass(frozen=True)
class Completion:
    """A chat completion body plus its ``toolbox_calls_total`` result (ok or hallucinate)."""

    body: dict[str, Any]
    result: str


def text_of(content: str | list[Any] | None) -> str:
    """The text of a message content: a string, or the text parts of a content-part list."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    texts: list[str] = []
    for part in content:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, dict) and isinstance(part.get("text"), str):
            texts.append(part["text"])
    return "".join(texts)


def find_alert(text: str) -> dict[str, Any] | None:
    """The first JSON object in ``text`` (at any nesting) with string alert_type and service."""
    text = text[:_MAX_SCAN_CHARS]
    start = text.find("{")
    tries = 0
    while start != -1 and tries < _MAX_SCAN_OBJECTS:
        tries += 1
        try:
            value, _ = _decoder.raw_decode(text, start)
        except ValueError:
            value = None
        if isinstance(value, dict) and _is_alert(value):
            return value
        start = text.find("{", start + 1)
    return None


def _is_alert(value: dict[str, Any]) -> bool:
    return isinstance(value.get("alert_type"), str) and isinstance(value.get("service"), str)


def latest_alert(messages: list[ChatMessage]) -> dict[str, Any] | None:
    """The alert in the last user message that carries one."""
    for message in reversed(messages):
        if message.role == "user":
            alert = find_alert(text_of(message.content))
            if alert is not None:
                return alert
    return None


def prompt_tokens(messages: list[ChatMessage]) -> int:
    return sum(len(text_of(message.content)) // 4 + 4 for message in messages)


def completion_tokens(output: str) -> int:
    return len(output) // 4 + 1


# -- planner -----------------------------------------------------------------------------------


def plan(alert: dict[str, Any] | None) -> tuple[dict[str, Any], str, str]:
    """The planner's assistant message, finish reason and output text (for token counting)."""
    if alert is None:
        text = "I need an alert as JSON with alert_type and service to plan an investigation."
        return {"role": "assistant", "content": text}, "stop", text
    tools = PLAYBOOK.get(alert["alert_type"])
    if tools is None:
        text = (
            f"No playbook for alert type {alert['alert_type']!r}; "
            f"known types: {', '.join(PLAYBOOK)}."
        )
        return {"role": "assistant", "content": text}, "stop", text
    arguments = json.dumps({"service": alert["service"]})
    calls = [
        {
            "id": f"call_{n}_{tool}",
            "type": "function",
            "function": {"name": tool, "arguments": arguments},
        }
        for n, tool in enumerate(tools)
    ]
    output = "".join(tool + arguments for tool in tools)
    return {"role": "assistant", "content": None, "tool_calls": calls}, "tool_calls", output


# -- reasoner ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToolEvidence:
    """What one tool message tells the reasoner."""

    tool: str | None
    service: str | None
    supports: tuple[str, ...]


def _call_names(messages: list[ChatMessage]) -> dict[str, str]:
    """tool_call_id -> function name, from the assistant messages' tool calls."""
    names: dict[str, str] = {}
    for message in messages:
        for call in message.tool_calls or ():
            if not isinstance(call, dict):
                continue
            function = call.get("function")
            name = function.get("name") if isinstance(function, dict) else None
            if isinstance(call.get("id"), str) and isinstance(name, str):
                names[call["id"]] = name
    return names


def read_tool_message(message: ChatMessage, call_names: Mapping[str, str]) -> ToolEvidence:
    """Parse a tool message; anything but a JSON object with findings gives no support."""
    tool = call_names.get(message.tool_call_id or "") or message.name
    try:
        answer = json.loads(text_of(message.content))
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        return ToolEvidence(tool, None, ())
    if isinstance(answer.get("tool"), str):
        tool = answer["tool"]
    service = answer.get("service") if isinstance(answer.get("service"), str) else None
    findings = answer.get("findings")
    supports = tuple(
        finding["supports"]
        for finding in (findings if isinstance(findings, list) else ())
        if isinstance(finding, dict)
        and isinstance(finding.get("supports"), str)
        and finding["supports"]
    )
    return ToolEvidence(tool, service, supports)


def conclude(evidence: list[ToolEvidence]) -> dict[str, Any]:
    """The reasoner's verdict: the best-supported cause (ties: first seen) and its tools."""
    counts: dict[str, int] = {}
    for item in evidence:
        for cause in item.supports:
            counts[cause] = counts.get(cause, 0) + 1
    best: str | None = None
    for cause, count in counts.items():
        if best is None or count > counts[best]:
            best = cause
    if best is None:
        return {
            "root_cause": None,
            "cited_evidence": [],
            "explanation": "no tool finding supports a root cause",
        }
    cited = _tools(evidence, supporting=best)
    return {
        "root_cause": best,
        "cited_evidence": cited,
        "explanation": f"{counts[best]} finding(s) support {best}: {', '.join(cited) or 'none'}",
    }


def hallucinate(evidence: list[ToolEvidence], incident: Incident | None) -> dict[str, Any]:
    """A confident, unsupported verdict: the incident's decoy cause, citing every tool given."""
    cause = incident.decoy_cause if incident is not None else FALLBACK_HALLUCINATION
    cited = _tools(evidence)
    return {
        "root_cause": cause,
        "cited_evidence": cited,
        "explanation": f"the evidence clearly points to {cause}",
    }


def _tools(evidence: list[ToolEvidence], supporting: str | None = None) -> list[str]:
    """Named tools of ``evidence`` (those supporting ``supporting`` if given), once each."""
    names = [
        item.tool
        for item in evidence
        if item.tool and (supporting is None or supporting in item.supports)
    ]
    return list(dict.fromkeys(names))


# -- the completion ----------------------------------------------------------------------------


def complete(
    request: ChatRequest,
    incidents: Mapping[str, Incident],
    model: str,
    hallucinating: bool = False,
) -> Completion:
    """Answer one chat-completions request (planner or reasoner turn)."""
    messages = request.messages
    result = "ok"
    if not any(message.role == "tool" for message in messages):
        message, finish_reason, output = plan(latest_alert(messages))
    else:
        call_names = _call_names(messages)
        evidence = [read_tool_message(m, call_names) for m in messages if m.role == "tool"]
        if hallucinating:
            alert = latest_alert(messages)
            service = (
                alert["service"]
                if alert
                else next((item.service for item in evidence if item.service), None)
            )
            verdict = hallucinate(evidence, incidents.get(service or ""))
            result = "hallucinate"
        else:
            verdict = conclude(evidence)
        output = json.dumps(verdict)
        message, finish_reason = {"role": "assistant", "content": output}, "stop"
    prompt, completion = prompt_tokens(messages), completion_tokens(output)
    body = {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
        "system_fingerprint": None,
    }
    return Completion(body, result)


# -- streaming ---------------------------------------------------------------------------------

_WORDS = re.compile(r"\S+\s*|\s+")


def _deltas(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The deltas that rebuild ``message``: role, then content words or tool-call pieces."""
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    for word in _WORDS.findall(message.get("content") or ""):
        deltas.append({"content": word})
    for index, call in enumerate(message.get("tool_calls") or ()):
        function = call["function"]
        head = {"index": index, "id": call["id"], "type": "function"}
        deltas.append(
            {"tool_calls": [{**head, "function": {"name": function["name"], "arguments": ""}}]}
        )
        arguments = function["arguments"]
        half = len(arguments) // 2
        for piece in (arguments[:half], arguments[half:]):
            deltas.append({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    return deltas


def stream_chunks(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A completion ``body`` as the chunk objects of its stream (usage in the last one)."""
    choice = body["choices"][0]
    head = {k: body[k] for k in ("id", "created", "model", "system_fingerprint")}
    head["object"] = "chat.completion.chunk"

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        entry = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {**head, "choices": [entry]}

    chunks = [chunk(delta) for delta in _deltas(choice["message"])]
    chunks.append(chunk({}, choice["finish_reason"]))
    chunks.append({**head, "choices": [], "usage": body["usage"]})
    return chunks


def sse(chunks: list[dict[str, Any]]) -> list[bytes]:
    """Server-sent events of ``chunks``, closed by ``data: [DONE]``."""
    events = [b"data: " + json.dumps(c, separators=(",", ":")).encode() + b"\n\n" for c in chunks]
    return [*events, b"data: [DONE]\n\n"]
