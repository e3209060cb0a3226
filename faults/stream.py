"""Stream faults on an SSE answer (``text/event-stream``), event by event.

``shape(chunks, spec, report)`` re-cuts raw bytes into SSE events (an event ends with a blank
line) and, per the spec: waits ``stream_first_token_ms`` before the first event and
``stream_token_ms`` before each later one; raises ``StreamCut`` instead of sending event N+1
when ``stream_cut_after`` is N (the server then drops the connection, so the client sees a
broken stream, not a short one); sends event ``stream_malformed_chunk`` with its JSON cut in
half; rewrites chat-completion chunks (``llm_content``: the first content delta carries the
replacement, later ones are emptied; ``llm_tool_arguments``: the same per tool call); and reads
the ``usage`` of the last chunk into ``report.tokens``.

Only a spec that ``shapes_stream`` goes through here: without one, a stream is forwarded as is.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from faults.content import usage_tokens
from faults.model import FaultSpec

_SEPARATORS = (b"\r\n\r\n", b"\n\n")


class StreamCut(Exception):
    """The stream is to be cut here: the server drops the connection."""


@dataclass
class StreamReport:
    """What shaping did to one stream (read by the caller for its metrics)."""

    events: int = 0
    result: str = "ok"
    tokens: int | None = None
    rewrites: int = 0
    content_rewritten: bool = False
    calls: dict[Any, bool] = field(default_factory=dict)  # tool-call index -> rewritten


def _split(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Complete events in ``buffer`` (separator included) and the incomplete rest."""
    events: list[bytes] = []
    while True:
        cuts = [(buffer.find(sep), sep) for sep in _SEPARATORS if sep in buffer]
        if not cuts:
            return events, buffer
        at, sep = min(cuts)
        events.append(buffer[: at + len(sep)])
        buffer = buffer[at + len(sep) :]


async def events(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The SSE events of a byte stream; a trailing incomplete event is yielded as is."""
    buffer = b""
    async for chunk in chunks:
        complete, buffer = _split(buffer + chunk)
        for event in complete:
            yield event
    if buffer:
        yield buffer


def _data(event: bytes) -> Any:
    """The JSON of an event's ``data:`` lines, or None (``[DONE]``, comments, not JSON)."""
    lines = [line[5:].strip() for line in event.splitlines() if line.startswith(b"data:")]
    if not lines:
        return None
    try:
        return json.loads(b"\n".join(lines))
    except ValueError:
        return None


def malform(event: bytes) -> bytes:
    """The event with its data cut in half: still an SSE event, no longer JSON."""
    payload = event.strip()
    if payload.startswith(b"data:"):
        payload = payload[5:].strip()
    return b"data: " + payload[: max(1, len(payload) // 2)] + b"\n\n"


def _rewrite_delta(delta: dict[str, Any], spec: FaultSpec, report: StreamReport) -> None:
    if spec.llm_content is not None and isinstance(delta.get("content"), str) and delta["content"]:
        delta["content"] = "" if report.content_rewritten else spec.llm_content
        report.rewrites += not report.content_rewritten
        report.content_rewritten = True
    calls = delta.get("tool_calls")
    if spec.llm_tool_arguments is None or not isinstance(calls, list):
        return
    for call in calls:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("arguments"), str):
            continue
        index = call.get("index", 0)
        if index not in report.calls:
            name = function.get("name")
            report.calls[index] = spec.llm_tool_name is None or name == spec.llm_tool_name
            if report.calls[index]:
                function["arguments"] = json.dumps(spec.llm_tool_arguments)
                report.rewrites += 1
        elif report.calls[index]:
            function["arguments"] = ""


def rewrite(event: bytes, spec: FaultSpec, report: StreamReport) -> bytes:
    """A chat-completion chunk with content / tool-call arguments replaced (see the docstring)."""
    chunk = _data(event)
    if not isinstance(chunk, dict) or not isinstance(chunk.get("choices"), list):
        return event
    for choice in chunk["choices"]:
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if isinstance(delta, dict):
            _rewrite_delta(delta, spec, report)
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


async def shape(
    chunks: AsyncIterator[bytes], spec: FaultSpec, report: StreamReport
) -> AsyncIterator[bytes]:
    """The events of ``chunks`` with the spec's stream faults applied (see the docstring)."""
    async for event in events(chunks):
        delay_ms = spec.stream_first_token_ms if report.events == 0 else spec.stream_token_ms
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000.0)
        if spec.stream_cut_after is not None and report.events >= spec.stream_cut_after:
            report.result = "stream_cut"
            raise StreamCut(f"stream cut after {report.events} events")
        report.events += 1
        if spec.rate_limit_tpm and b'"usage"' in event:
            report.tokens = usage_tokens(_data(event)) or report.tokens
        if report.events == spec.stream_malformed_chunk:
            report.result = "stream_malformed"
            event = malform(event)
        elif spec.rewrites_llm:
            event = rewrite(event, spec, report)
            if report.result == "ok" and report.rewrites:
                report.result = "rewritten"
        yield event
