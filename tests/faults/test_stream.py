"""Stream shaping of SSE answers: event split, delays, cut, malformed chunk, LLM rewrites."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from faults.model import FaultSpec
from faults.stream import StreamCut, StreamReport, events, shape

pytestmark = pytest.mark.anyio


def sse(chunk: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def content_chunk(text: str) -> bytes:
    return sse({"choices": [{"index": 0, "delta": {"content": text}}]})


def call_chunk(index: int, arguments: str, name: str | None = None) -> bytes:
    function: dict[str, Any] = {"arguments": arguments}
    if name is not None:
        function["name"] = name
    return sse({"choices": [{"delta": {"tool_calls": [{"index": index, "function": function}]}}]})


STREAM = [
    content_chunk("the "),
    content_chunk("root cause is db"),
    sse({"choices": [], "usage": {"total_tokens": 12}}),
    b"data: [DONE]\n\n",
]


async def pieces(chunks: list[bytes], size: int) -> AsyncIterator[bytes]:
    """The bytes of ``chunks`` re-cut into ``size``-byte reads (events straddle reads)."""
    joined = b"".join(chunks)
    for at in range(0, len(joined), size):
        yield joined[at : at + size]


async def collect(
    spec: FaultSpec, chunks: list[bytes] = STREAM
) -> tuple[list[bytes], StreamReport]:
    report = StreamReport()
    return [event async for event in shape(pieces(chunks, 7), spec, report)], report


async def test_events_are_rebuilt_across_reads() -> None:
    assert [event async for event in events(pieces(STREAM, 5))] == STREAM
    assert [e async for e in events(pieces([b"data: 1\r\n\r\n", b"data: 2"], 3))] == [
        b"data: 1\r\n\r\n",
        b"data: 2",
    ]


async def test_cut_after_n_events_raises_after_sending_them() -> None:
    report = StreamReport()
    sent = []
    with pytest.raises(StreamCut, match="stream cut after 2 events"):
        async for event in shape(pieces(STREAM, 7), FaultSpec(stream_cut_after=2), report):
            sent.append(event)
    assert sent == STREAM[:2] and report.result == "stream_cut"


async def test_malformed_chunk_is_not_json() -> None:
    sent, report = await collect(FaultSpec(stream_malformed_chunk=2))
    assert sent[0] == STREAM[0] and sent[2:] == STREAM[2:]
    assert sent[1].startswith(b"data: ") and sent[1].endswith(b"\n\n")
    with pytest.raises(ValueError):
        json.loads(sent[1][6:])
    assert report.result == "stream_malformed"


async def test_slow_first_token_and_slow_tokens() -> None:
    started = time.monotonic()
    sent, _ = await collect(FaultSpec(stream_first_token_ms=150))
    assert time.monotonic() - started >= 0.15 and sent == STREAM
    started = time.monotonic()
    await collect(FaultSpec(stream_token_ms=50))
    assert time.monotonic() - started >= 0.15, "3 later events x 50 ms"


async def test_usage_of_the_last_chunk_is_read_for_the_token_budget() -> None:
    _, report = await collect(FaultSpec(rate_limit_tpm=100))
    assert report.tokens == 12


async def test_llm_content_goes_into_the_first_content_delta() -> None:
    sent, report = await collect(FaultSpec(llm_content="dns it is"))
    texts = [json.loads(e[6:])["choices"][0]["delta"]["content"] for e in sent[:2]]
    assert texts == ["dns it is", ""]
    assert sent[2:] == STREAM[2:] and report.result == "rewritten"


async def test_tool_call_arguments_are_replaced_per_call() -> None:
    stream = [
        call_chunk(0, "", name="get_logs"),
        call_chunk(0, '{"serv'),
        call_chunk(0, 'ice": "checkout"}'),
        call_chunk(1, "", name="check_pods"),
        call_chunk(1, '{"service": "checkout"}'),
    ]
    spec = FaultSpec(llm_tool_arguments={"service": "x"}, llm_tool_name="get_logs")
    sent, report = await collect(spec, stream)
    arguments: dict[int, str] = {}
    for event in sent:
        for call in json.loads(event[6:])["choices"][0]["delta"]["tool_calls"]:
            arguments[call["index"]] = (
                arguments.get(call["index"], "") + call["function"]["arguments"]
            )
    assert arguments == {0: '{"service": "x"}', 1: '{"service": "checkout"}'}
    assert report.result == "rewritten"
