"""A scripted, deterministic OpenAI-compatible chat model for the helpdesk agent, offline.

``POST /v1/chat/completions`` reads the last user question and the tool results so far, and
either calls the next tool (``lookup_service`` / ``get_oncall``, as OpenAI tool calls) or answers
in free text from the tool results. It knows nothing of the helpdesk's knowledge: every fact in
an answer comes from a tool result, so a lying tool makes a wrong answer and a failed tool an
answer without a claim. ``usage`` is counted from the text (~4 characters a token);
``stream: true`` answers in OpenAI's SSE chunk format, with ``usage`` in a last chunk when
``stream_options.include_usage`` is set.

Start: ``uvicorn examples.helpdesk.fake_llm:app --host 127.0.0.1 --port 8301``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.responses import StreamingResponse

app = FastAPI(title="helpdesk scripted LLM")

#: words that carry no entity (service or team name) in a question
_STOPWORD_TEXT = (
    "a an and are at backup call current currently deployed does down for has healthy how "
    "in incident is it latency me now of on oncall open owner owns p95 primary running runs "
    "secondary service slow status tell the there today up version what whats which who why "
    "with wrong"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


@dataclass(frozen=True)
class ToolResult:
    """One tool result in the conversation: the tool's name and its parsed content."""

    name: str
    data: dict[str, Any] | None  # None: the tool failed; ``text`` says why
    text: str


@dataclass(frozen=True)
class Step:
    """What the model says next: a tool call, or a final text."""

    text: str = ""
    tool: str = ""
    arguments: dict[str, Any] | None = None


def intent(question: str) -> str:
    """The question's intent: oncall, secondary, status, version, latency, incident or owner."""
    q = question.lower()
    if re.search(r"on[- ]?call|paged|pager", q):
        return "secondary" if re.search(r"secondary|backup", q) else "oncall"
    for name, pattern in (
        ("version", r"version"),
        ("latency", r"latency|p95|slow"),
        ("incident", r"\bwhy\b|incident|cause|wrong"),
        ("owner", r"owns|owner|which team"),
    ):
        if re.search(pattern, q):
            return name
    return "status"


def entity(question: str) -> tuple[str, bool]:
    """The service or team the question names, and whether it is a team (``... team``)."""
    words = re.findall(r"[a-z0-9][a-z0-9-]*", question.lower())
    for i in range(len(words) - 1, -1, -1):
        word = words[i]
        if word == "team" and i > 0:
            return words[i - 1], True
        if word not in _STOPWORDS:
            return word, False
    return "", False


def tool_results(messages: list[dict[str, Any]]) -> list[ToolResult]:
    """The tool results after the last user message, with the name of the tool called."""
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    names: dict[str, str] = {}
    results = []
    for message in messages[last_user + 1 :]:
        for call in message.get("tool_calls") or ():
            names[call["id"]] = call["function"]["name"]
        if message.get("role") == "tool":
            text = _text(message.get("content"))
            try:
                data = json.loads(text)
            except ValueError:
                data = None
            parsed = data if isinstance(data, dict) else None
            results.append(ToolResult(names.get(message.get("tool_call_id", ""), ""), parsed, text))
    return results


def _text(content: Any) -> str:
    if isinstance(content, list):  # content parts
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content or "")


def next_step(question: str, results: list[ToolResult]) -> Step:
    """The scripted policy: call the tool the question needs, then answer from its result."""
    want = intent(question)
    name, is_team = entity(question)
    failed = [r for r in results if r.data is None]
    if failed:
        return Step(
            f"I could not complete the look-up ({failed[-1].text}), so I cannot answer that now."
        )
    by_tool = {r.name: r.data for r in results if r.data is not None}
    if want in ("oncall", "secondary"):
        oncall = by_tool.get("get_oncall")
        if oncall is not None:
            return Step(_oncall_text(want, oncall))
        if is_team:
            return Step(tool="get_oncall", arguments={"team": name})
        service = by_tool.get("lookup_service")
        if service is None:
            return Step(tool="lookup_service", arguments={"name": name})
        return Step(tool="get_oncall", arguments={"team": service["owner"]})
    service = by_tool.get("lookup_service")
    if service is None:
        return Step(tool="lookup_service", arguments={"name": name})
    return Step(_service_text(want, service))


def _oncall_text(want: str, oncall: dict[str, Any]) -> str:
    team = oncall.get("team", "that")
    if want == "secondary":
        return f"The secondary on call for the {team} team is {oncall.get('secondary')}."
    return f"{oncall.get('primary')} is the primary on call for the {team} team."


def _service_text(want: str, s: dict[str, Any]) -> str:
    name = s.get("name", "the service")
    if want == "version":
        return f"{name} is running version {s.get('version')}."
    if want == "latency":
        return f"The p95 latency of {name} is {s.get('p95_latency_ms'):g} ms right now."
    if want == "owner":
        return f"{name} is owned by the {s.get('owner')} team."
    if want == "incident":
        if s.get("incident"):
            return f"{name} is {s.get('status')} because of {s.get('incident')}."
        return f"{name} has no open incident; it is {s.get('status')}."
    text = f"{name} is currently {s.get('status')}."
    if s.get("incident"):
        text += f" Open incident: {s.get('incident')}."
    return text


def _tokens(text: str) -> int:
    return max(1, (len(text) + 3) // 4)


def usage(messages: list[dict[str, Any]], tools: list[Any], step: Step) -> dict[str, int]:
    """Token counts, deterministic: ~4 characters a token."""
    prompt = sum(_tokens(_text(m.get("content"))) + 4 for m in messages)
    prompt += sum(_tokens(json.dumps(t)) for t in tools)
    completion = _tokens(step.text or json.dumps(step.arguments)) + (8 if step.tool else 0)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _call_id(question: str, step: Step, turn: int) -> str:
    digest = hashlib.sha1(f"{question}|{step.tool}|{step.arguments}|{turn}".encode()).hexdigest()
    return f"call_{digest[:16]}"


def completion(body: dict[str, Any]) -> tuple[Step, dict[str, int], str]:
    """The next step for a request body, its usage and the tool call id (if it calls a tool)."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise HTTPException(400, detail="messages: expected a non-empty list")
    questions = [_text(m.get("content")) for m in messages if m.get("role") == "user"]
    if not questions:
        raise HTTPException(400, detail="messages: no user message")
    results = tool_results(messages)
    step = next_step(questions[-1], results)
    if step.tool and not body.get("tools"):
        step = Step("I need my tools to answer that, and none were offered.")
    call_id = _call_id(questions[-1], step, len(results)) if step.tool else ""
    return step, usage(messages, body.get("tools") or [], step), call_id


def _message(step: Step, call_id: str) -> dict[str, Any]:
    if not step.tool:
        return {"role": "assistant", "content": step.text}
    call = {
        "id": call_id,
        "type": "function",
        "function": {"name": step.tool, "arguments": json.dumps(step.arguments)},
    }
    return {"role": "assistant", "content": None, "tool_calls": [call]}


def _chunk(base: dict[str, Any], delta: dict[str, Any], finish: str | None) -> str:
    payload = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return f"data: {json.dumps(payload)}\n\n"


def sse_chunks(
    base: dict[str, Any], step: Step, call_id: str, use: dict[str, int] | None
) -> Iterator[str]:
    """The streamed answer in OpenAI's chunk format, ``data: [DONE]`` last."""
    yield _chunk(base, {"role": "assistant", "content": ""}, None)
    if step.tool:
        arguments = json.dumps(step.arguments)
        half = len(arguments) // 2
        head = {
            "index": 0,
            "id": call_id,
            "type": "function",
            "function": {"name": step.tool, "arguments": ""},
        }
        yield _chunk(base, {"tool_calls": [head]}, None)
        for part in (arguments[:half], arguments[half:]):
            yield _chunk(
                base, {"tool_calls": [{"index": 0, "function": {"arguments": part}}]}, None
            )
        finish = "tool_calls"
    else:
        for word in re.findall(r"\S+\s*", step.text):
            yield _chunk(base, {"content": word}, None)
        finish = "stop"
    yield _chunk(base, {}, finish)
    if use is not None:
        yield f"data: {json.dumps({**base, 'choices': [], 'usage': use})}\n\n"
    yield "data: [DONE]\n\n"


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/v1/models")
async def models() -> dict[str, Any]:
    return {"object": "list", "data": [{"id": "helpdesk-scripted", "object": "model"}]}


@app.post("/v1/chat/completions", response_model=None)
async def chat_completions(body: dict[str, Any]) -> dict[str, Any] | StreamingResponse:
    """One scripted turn; ``HELPDESK_FAKE_LLM_DELAY_MS`` adds a fixed think time."""
    step, use, call_id = completion(body)
    delay_ms = float(os.environ.get("HELPDESK_FAKE_LLM_DELAY_MS") or 0)
    if delay_ms > 0:
        await asyncio.sleep(delay_ms / 1000)
    base = {
        "id": f"chatcmpl-{call_id[5:] or hashlib.sha1(step.text.encode()).hexdigest()[:16]}",
        "created": int(time.time()),
        "model": str(body.get("model") or "helpdesk-scripted"),
    }
    if body.get("stream"):
        options = body.get("stream_options") or {}
        chunks = sse_chunks(
            {**base, "object": "chat.completion.chunk"},
            step,
            call_id,
            use if options.get("include_usage") else None,
        )

        async def stream() -> AsyncIterator[str]:
            for chunk in chunks:
                yield chunk

        return StreamingResponse(stream(), media_type="text/event-stream")
    finish = "tool_calls" if step.tool else "stop"
    choice = {"index": 0, "message": _message(step, call_id), "finish_reason": finish}
    return {**base, "object": "chat.completion", "choices": [choice], "usage": use}
