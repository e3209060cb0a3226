"""The LLM client: langchain-openai's ChatOpenAI pointed at ``AGENT_LLM_BASE_URL``.

``max_retries=0``: the agent owns its retry policy (``resilience/``); ChatOpenAI's own two
retries would nest inside ours and multiply the load on a rate-limited LLM. openai's errors are
translated here, ``Retry-After`` read from the 429/503 response headers.

Streaming (``AGENT_LLM_STREAM=true``): ChatOpenAI asks for ``stream: true`` with
``stream_options.include_usage`` and folds the chunks into one answer, so tokens and cost still
come from ``usage`` (in the last chunk). Nothing else changes: ``ainvoke`` consumes the whole
stream inside the attempt's ``asyncio.timeout`` (``resilience/dependency.py``), so the per-call
timeout bounds a stream whose tokens trickle, not only its first byte; a stream cut mid-way
(``openai.APIConnectionError``, or a raw ``httpx.TransportError``) and a malformed chunk (a
``ValueError`` from the SSE decoder) are failed calls like any other, retried and counted by
the breaker.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI

from target_agent.agent.resilience.errors import (
    AttemptTimeout,
    DependencyClientError,
    DependencyUnavailable,
    parse_retry_after,
)
from target_agent.vocabulary import TOOLS

SYSTEM_PROMPT = (
    "You are an SRE investigating a production alert. First call the tools that gather the "
    "evidence you need (each takes the service name). Then answer with JSON only: "
    '{"root_cause": str|null, "cited_evidence": [tool, ...], "explanation": str}. '
    "Name a root cause only if the tool findings support it."
)

_DESCRIPTIONS = {
    "check_pods": "Pod status, restarts and termination reasons of a service.",
    "get_metrics": "Key metrics (latency, errors, saturation) of a service.",
    "get_logs": "Recent error patterns in the logs of a service.",
    "get_deploys": "Recent deploys and configuration changes of a service.",
}

#: OpenAI function schemas of the catalogue's tools (the planner binds these).
TOOL_SCHEMAS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": tool,
            "description": _DESCRIPTIONS.get(tool, tool),
            "parameters": {
                "type": "object",
                "properties": {"service": {"type": "string", "description": "service name"}},
                "required": ["service"],
            },
        },
    }
    for tool in TOOLS
]


def opening_messages(alert: dict[str, Any]) -> list[BaseMessage]:
    """The system prompt and the user turn carrying the alert as JSON."""
    return [
        SystemMessage(SYSTEM_PROMPT),
        HumanMessage(f"Investigate this alert: {json.dumps(alert, sort_keys=True)}"),
    ]


def build_chat_model(
    base_url: str,
    api_key: str,
    model: str,
    timeout_s: float,
    http: httpx.AsyncClient,
    stream: bool = False,
) -> ChatOpenAI:
    """The chat model; with ``stream`` it streams (SSE) and reads ``usage`` from the last chunk.

    ``timeout_s`` is httpx's per-read timeout; the whole call (every chunk of a stream) is
    bounded by the attempt timeout of ``resilience.dependency``. langchain-openai's gap between
    chunks (``stream_chunk_timeout``, 120 s or ``$LANGCHAIN_OPENAI_STREAM_CHUNK_TIMEOUT_S``) is
    pinned to ``timeout_s`` so the environment cannot loosen or tighten it behind our back.
    """
    streaming: dict[str, Any] = (
        {"streaming": True, "stream_usage": True, "stream_chunk_timeout": timeout_s}
        if stream
        else {}
    )
    return ChatOpenAI(
        model=model,
        base_url=base_url,
        api_key=api_key,  # type: ignore[arg-type]
        max_retries=0,
        timeout=timeout_s,
        temperature=0,
        http_async_client=http,
        **streaming,
    )


class LLMClient:
    """Planner and reasoner turns; raises DependencyError subclasses, never openai's."""

    def __init__(self, model: ChatOpenAI) -> None:
        self.model = model
        self.planner_model = model.bind_tools(TOOL_SCHEMAS)

    async def plan(self, messages: list[BaseMessage]) -> AIMessage:
        """The planner turn: the answer carries ``tool_calls``."""
        return await self._invoke(self.planner_model, messages)

    async def reason(self, messages: list[BaseMessage]) -> AIMessage:
        """The reasoner turn: the answer's content is the JSON claim."""
        return await self._invoke(self.model, messages)

    @staticmethod
    async def _invoke(model: Any, messages: list[BaseMessage]) -> AIMessage:
        try:
            answer = await model.ainvoke(messages)
        except openai.APITimeoutError as exc:
            raise AttemptTimeout("llm", "request timed out") from exc
        except openai.APIStatusError as exc:
            status = exc.status_code
            retry_after = parse_retry_after(exc.response.headers.get("retry-after"))
            if status in (408, 429) or status >= 500:
                raise DependencyUnavailable(
                    "llm", f"HTTP {status}", status=status, retry_after=retry_after
                ) from exc
            raise DependencyClientError("llm", f"HTTP {status}", status=status) from exc
        except openai.APIError as exc:  # connection errors (a cut stream), malformed answers
            raise DependencyUnavailable("llm", f"{type(exc).__name__}: {exc}") from exc
        except httpx.TimeoutException as exc:  # a stream read timing out, if not wrapped
            raise AttemptTimeout("llm", f"{type(exc).__name__} reading the answer") from exc
        except httpx.TransportError as exc:  # a stream cut, if the SDK does not wrap it
            raise DependencyUnavailable("llm", f"{type(exc).__name__}: {exc}") from exc
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            # An endpoint answering something that is not a chat completion is a failing
            # dependency, not a bug of ours: degrade like any other LLM failure.
            raise DependencyUnavailable("llm", f"unusable answer: {type(exc).__name__}") from exc
        if not isinstance(answer, AIMessage):
            raise DependencyUnavailable("llm", f"unexpected answer type {type(answer).__name__}")
        return answer


def token_usage(message: AIMessage) -> int:
    """Total tokens the LLM reported for one answer (0 when it reported none)."""
    usage = message.usage_metadata
    return int(usage.get("total_tokens", 0)) if usage else 0
