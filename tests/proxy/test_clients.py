"""Real OpenAI clients through the proxy: a streamed answer arrives whole, a cut stream and a
malformed chunk surface as the errors those clients raise, an injected 429 as RateLimitError."""

from __future__ import annotations

import json

import httpx
import openai
import pytest
from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from target_agent.toolbox.catalogue import by_service
from tests.proxy.conftest import Running, put_fault


def alert() -> str:
    incident = by_service("checkout")
    assert incident is not None
    return json.dumps(incident.alert())


def causes(exc: BaseException | None) -> str:
    """The messages of ``exc`` and its causes (clients wrap the transport's error)."""
    messages = []
    while exc is not None:
        messages.append(f"{type(exc).__name__}: {exc}")
        exc = exc.__cause__
    return " <- ".join(messages)


def client(proxy: Running) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{proxy.url}/llm", api_key="x", max_retries=0, timeout=10)


def stream_text(proxy: Running, content: str) -> str:
    stream = client(proxy).chat.completions.create(
        model="m", messages=[{"role": "user", "content": content}], stream=True
    )
    return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)


def test_openai_stream_through_the_proxy_is_whole(http: httpx.Client, proxy: Running) -> None:
    text = stream_text(proxy, "no alert here")
    assert text.startswith("I need an alert as JSON")


def test_cut_stream_is_an_error_for_openai(http: httpx.Client, proxy: Running) -> None:
    put_fault(http, proxy, "llm", stream_cut_after=3)
    with pytest.raises(openai.APIConnectionError) as caught:
        stream_text(proxy, "no alert here")
    assert "incomplete chunked read" in causes(caught.value)


def test_malformed_chunk_is_an_error_for_openai(http: httpx.Client, proxy: Running) -> None:
    put_fault(http, proxy, "llm", stream_malformed_chunk=2)
    with pytest.raises(json.JSONDecodeError):
        stream_text(proxy, "no alert here")


def chat(proxy: Running) -> ChatOpenAI:
    return ChatOpenAI(
        base_url=f"{proxy.url}/llm", api_key=SecretStr("x"), model="m", max_retries=0, timeout=10
    )


def test_cut_stream_is_an_error_for_chatopenai(http: httpx.Client, proxy: Running) -> None:
    model = chat(proxy)
    whole = "".join(str(chunk.content) for chunk in model.stream([HumanMessage("no alert")]))
    assert whole.startswith("I need an alert as JSON")
    put_fault(http, proxy, "llm", stream_cut_after=2)
    with pytest.raises(openai.APIConnectionError) as caught:
        for _ in model.stream([HumanMessage("no alert")]):
            pass
    assert "incomplete chunked read" in causes(caught.value)


def test_llm_429_is_a_rate_limit_error_for_chatopenai(http: httpx.Client, proxy: Running) -> None:
    put_fault(http, proxy, "llm", error_rate=1, error_status=429, retry_after_s=4)
    with pytest.raises(openai.RateLimitError) as caught:
        chat(proxy).invoke([HumanMessage(alert())])
    assert caught.value.response.headers["retry-after"] == "4"
