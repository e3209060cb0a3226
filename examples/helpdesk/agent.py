"""The helpdesk agent: a LangGraph prebuilt ReAct agent answering ops questions in free text.

Not Stampede's reference agent, on purpose: another API, other facts, other metric names.

    POST /ask {"question": "Who is on call for checkout?", "session": "s-1"}
      200 {"answer": "<free text>", "status": "ok" | "partial", "id": "...",
           "usage": {"prompt_tokens", "completion_tokens", "total_tokens", "cost_usd",
                     "tool_retries"}, "tools": ["lookup_service", ...]}
      429 / 503 with Retry-After: the LLM rate-limited it / too many questions waiting
      502 / 504: the LLM failed / timed out
    GET /answers/{id}   the stored answer (404 when unknown)
    GET /healthz, /readyz, /metrics

``status`` is ``partial`` when a tool failed and the answer says so instead of a fact. The LLM
is any OpenAI-compatible endpoint at ``HELPDESK_LLM_BASE_URL`` (``examples/helpdesk/fake_llm.py``
offline); the tools are at ``HELPDESK_TOOLS_URL`` (``examples/helpdesk/tools.py``). Settings are
``HELPDESK_*`` environment variables (:class:`Settings`). The serving replica is in the
``X-Helpdesk-Replica`` header.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import os
import socket
import time
import uuid
import warnings
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated, Any

import httpx
import openai
from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.tools import BaseTool, StructuredTool
from langchain_openai import ChatOpenAI
from langgraph.prebuilt import create_react_agent
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from examples.helpdesk.metrics import HelpdeskMetrics
from examples.helpdesk.resilience import ToolClient

PROMPT = (
    "You are an ops helpdesk. Answer questions about services and on-call rotas using only the "
    "tools lookup_service and get_oncall. If a tool fails, say what you could not look up."
)


class Settings(BaseSettings):
    """The agent's configuration, from ``HELPDESK_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="HELPDESK_", extra="ignore")

    llm_base_url: str = "http://127.0.0.1:8301/v1"
    llm_model: str = "helpdesk-scripted"
    llm_api_key: str = "not-needed"
    llm_stream: bool = False
    llm_timeout_s: Annotated[float, Field(gt=0)] = 10.0
    tools_url: str = "http://127.0.0.1:8302"
    #: per-tool base URLs, JSON: {"get_oncall": "http://127.0.0.1:8200/tools/get_oncall"}
    tool_urls: dict[str, str] = {}
    tool_timeout_s: Annotated[float, Field(gt=0)] = 2.0
    tool_retries: Annotated[int, Field(ge=0)] = 1
    breaker_failures: Annotated[int, Field(ge=1)] = 5
    breaker_reset_s: Annotated[float, Field(gt=0)] = 5.0
    concurrency: Annotated[int, Field(ge=1)] = 8
    max_queue: Annotated[int, Field(ge=0)] = 32
    replica: str = ""
    usd_per_1k_tokens: Annotated[float, Field(ge=0)] = 0.002
    answers_kept: Annotated[int, Field(ge=1)] = 1000


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


@dataclass
class Turn:
    """Per-question counters the tools add to (one per request, via a context variable)."""

    tool_retries: int = 0
    tools: list[str] = field(default_factory=list)


_TURN: contextvars.ContextVar[Turn] = contextvars.ContextVar("helpdesk_turn")


class Ask(BaseModel):
    question: str = Field(min_length=1, max_length=2000)
    session: str | None = None


def build_tools(client: ToolClient) -> list[BaseTool]:
    """The two LangChain tools; a failure comes back to the model as ``ERROR: ...`` text."""

    async def call(tool: str, payload: dict[str, Any]) -> str:
        outcome = await client.call(tool, payload)
        turn = _TURN.get(None)
        if turn is not None:
            turn.tool_retries += outcome.retries
            turn.tools.append(tool)
        return outcome.text()

    async def lookup_service(name: str) -> str:
        """Look up a service: status, owner team, version, p95 latency, open incident."""
        return await call("lookup_service", {"name": name})

    async def get_oncall(team: str) -> str:
        """Who is on call (primary, secondary) for a team."""
        return await call("get_oncall", {"team": team})

    return [
        StructuredTool.from_function(coroutine=lookup_service, name="lookup_service"),
        StructuredTool.from_function(coroutine=get_oncall, name="get_oncall"),
    ]


def build_graph(settings: Settings, client: ToolClient) -> Any:
    """The prebuilt ReAct agent over ChatOpenAI (no client retries: the agent owns its policy)."""
    model = ChatOpenAI(
        model=settings.llm_model,
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key,  # type: ignore[arg-type]
        max_retries=0,
        timeout=settings.llm_timeout_s,
        streaming=settings.llm_stream,
        stream_usage=True,
        temperature=0,
    )
    with warnings.catch_warnings():
        # langgraph 1.x moved it to langchain.agents.create_agent; the prebuilt one still works
        warnings.simplefilter("ignore", DeprecationWarning)
        return create_react_agent(model, build_tools(client), prompt=PROMPT)


@dataclass
class State:
    """What the lifespan builds and the routes use."""

    settings: Settings
    metrics: HelpdeskMetrics
    http: httpx.AsyncClient
    graph: Any
    slots: asyncio.Semaphore
    replica: str
    answers: OrderedDict[str, dict[str, Any]] = field(default_factory=OrderedDict)
    waiting: int = 0
    ready: bool = True


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    metrics = HelpdeskMetrics()
    http = httpx.AsyncClient(
        base_url=settings.tools_url, timeout=settings.tool_timeout_s, trust_env=False
    )
    client = ToolClient(
        http,
        metrics,
        retries=settings.tool_retries,
        breaker_failures=settings.breaker_failures,
        breaker_reset_s=settings.breaker_reset_s,
        urls=dict(settings.tool_urls),
    )
    replica = settings.replica or f"{socket.gethostname()}-{os.getpid()}"
    app.state.helpdesk = State(
        settings,
        metrics,
        http,
        build_graph(settings, client),
        asyncio.Semaphore(settings.concurrency),
        replica,
    )
    try:
        yield
    finally:
        app.state.helpdesk.ready = False
        await http.aclose()


def get_state(request: Request) -> State:
    state: State = request.app.state.helpdesk
    return state


StateDep = Annotated[State, Depends(get_state)]

app = FastAPI(title="helpdesk agent", lifespan=lifespan)


@app.middleware("http")
async def replica_header(request: Request, call_next: Any) -> Response:
    response: Response = await call_next(request)
    state = getattr(request.app.state, "helpdesk", None)
    if state is not None:
        response.headers["X-Helpdesk-Replica"] = state.replica
    return response


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/readyz")
async def readyz(state: StateDep) -> JSONResponse:
    ok = state.ready
    return JSONResponse({"ready": ok}, status_code=200 if ok else 503)


@app.get("/metrics")
async def metrics(state: StateDep) -> Response:
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@app.get("/answers/{answer_id}")
async def get_answer(answer_id: str, state: StateDep) -> dict[str, Any]:
    stored = state.answers.get(answer_id)
    if stored is None:
        raise HTTPException(404, detail=f"no answer {answer_id!r}")
    return stored


@app.post("/ask", response_model=None)
async def ask(body: Ask, state: StateDep) -> dict[str, Any] | JSONResponse:
    """Answer one question (see the module docstring for the reply)."""
    if state.waiting >= state.settings.max_queue and state.slots.locked():
        state.metrics.requests.labels("shed").inc()
        return _refuse(503, "too many questions waiting", "1")
    state.waiting += 1
    state.metrics.queue_depth.set(state.waiting)
    try:
        await state.slots.acquire()
    finally:
        state.waiting -= 1
        state.metrics.queue_depth.set(state.waiting)
    state.metrics.inflight.inc()
    started = time.monotonic()
    try:
        return await _answer(body, state)
    finally:
        state.slots.release()
        state.metrics.inflight.dec()
        state.metrics.latency.observe(time.monotonic() - started)


async def _answer(body: Ask, state: State) -> dict[str, Any] | JSONResponse:
    turn = Turn()
    token = _TURN.set(turn)
    try:
        result = await state.graph.ainvoke(
            {"messages": [("user", body.question)]}, config={"recursion_limit": 12}
        )
    except openai.RateLimitError as exc:
        state.metrics.requests.labels("rate_limited").inc()
        return _refuse(429, "llm rate-limited", exc.response.headers.get("retry-after") or "1")
    except (openai.APITimeoutError, TimeoutError):
        state.metrics.requests.labels("error").inc()
        return JSONResponse({"detail": "llm timed out"}, status_code=504)
    except openai.OpenAIError as exc:
        state.metrics.requests.labels("error").inc()
        return JSONResponse({"detail": f"llm failed: {type(exc).__name__}"}, status_code=502)
    finally:
        _TURN.reset(token)
    reply = _reply(result["messages"], turn, state)
    state.answers[reply["id"]] = reply
    while len(state.answers) > state.settings.answers_kept:
        state.answers.popitem(last=False)
    state.metrics.requests.labels(reply["status"]).inc()
    return reply


def _reply(messages: list[BaseMessage], turn: Turn, state: State) -> dict[str, Any]:
    """The /ask body from the graph's messages: last AI text, partial if a tool failed."""
    final = next((m for m in reversed(messages) if isinstance(m, AIMessage)), None)
    answer = final.content if final is not None else ""
    failed = any(
        isinstance(m, ToolMessage) and str(m.content).startswith("ERROR:") for m in messages
    )
    prompt = completion = 0
    for message in messages:
        if isinstance(message, AIMessage) and message.usage_metadata:
            prompt += message.usage_metadata.get("input_tokens", 0)
            completion += message.usage_metadata.get("output_tokens", 0)
    total = prompt + completion
    return {
        "answer": answer if isinstance(answer, str) else json.dumps(answer),
        "status": "partial" if failed else "ok",
        "id": uuid.uuid4().hex,
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": total,
            "cost_usd": round(total * state.settings.usd_per_1k_tokens / 1000, 8),
            "tool_retries": turn.tool_retries,
        },
        "tools": turn.tools,
    }


def _refuse(status: int, detail: str, retry_after: str) -> JSONResponse:
    return JSONResponse(
        {"detail": detail}, status_code=status, headers={"Retry-After": retry_after}
    )
