"""CPU cost of the full agent vs a bare LangGraph graph making the same LLM and tool calls.

Starts Redis and the toolbox as their own processes (their CPU is not counted), then in this
process runs, in interleaved rounds, ``--per-round`` investigations through

* **agent**: the real app (``create_app``) over httpx's ASGI transport, lifespan running:
  FastAPI validation, admission, every resilience mechanism, the 4-node graph, Redis record +
  cache writes, metrics;
* **bare**: a 3-node LangGraph graph (planner -> tools -> reasoner) with the same ChatOpenAI
  (``max_retries=0``), the same prompts and tool schemas, the same httpx tool calls — and
  nothing else;

measuring ``time.process_time()`` (user + system CPU of this process) around each batch. The
result is the median over rounds of CPU-ms per investigation and their ratio (goal <= 1.5).

    .venv/bin/python bench/agent_overhead.py [--rounds 7] [--per-round 40] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypedDict

import httpx
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langgraph.graph import END, START, StateGraph

from stampede import procs
from target_agent.agent.llm import TOOL_SCHEMAS, build_chat_model, opening_messages
from target_agent.agent.main import create_app
from target_agent.agent.settings import Settings
from target_agent.toolbox.catalogue import catalogue

GOAL_RATIO = 1.5


class BareState(TypedDict, total=False):
    alert: dict[str, Any]
    planner: AIMessage
    tool_messages: list[ToolMessage]
    answer: AIMessage


def build_bare_graph(toolbox_url: str, http: httpx.AsyncClient) -> Any:
    """planner -> tools (gathered) -> reasoner: the calls the agent makes, with no resilience."""
    chat = build_chat_model(f"{toolbox_url}/v1", "bench", "stampede-sim", 10.0, http)
    planner_model = chat.bind_tools(TOOL_SCHEMAS)

    async def planner(state: BareState) -> dict[str, Any]:
        answer = await planner_model.ainvoke(opening_messages(state["alert"]))
        return {"planner": answer}

    async def call_tool(call: Any) -> ToolMessage:
        response = await http.post(
            f"{toolbox_url}/tools/{call['name']}", json=call["args"], timeout=10.0
        )
        return ToolMessage(content=response.text, tool_call_id=call["id"], name=call["name"])

    async def tools(state: BareState) -> dict[str, Any]:
        calls = state["planner"].tool_calls
        return {"tool_messages": list(await asyncio.gather(*(call_tool(c) for c in calls)))}

    async def reasoner(state: BareState) -> dict[str, Any]:
        messages: list[BaseMessage] = [
            *opening_messages(state["alert"]),
            state["planner"],
            *state["tool_messages"],
        ]
        return {"answer": await chat.ainvoke(messages)}

    builder = StateGraph(BareState)
    builder.add_node("planner", planner)
    builder.add_node("tools", tools)
    builder.add_node("reasoner", reasoner)
    builder.add_edge(START, "planner")
    builder.add_edge("planner", "tools")
    builder.add_edge("tools", "reasoner")
    builder.add_edge("reasoner", END)
    return builder.compile()


async def cpu_ms_per_call(fn: Callable[[dict[str, Any]], Awaitable[None]], n: int) -> float:
    alerts = [incident.alert() for incident in catalogue()]
    gc.collect()
    start = time.process_time()
    for i in range(n):
        await fn(alerts[i % len(alerts)])
    return (time.process_time() - start) * 1000 / n


async def run(rounds: int, per_round: int, toolbox_url: str, redis_url: str) -> dict[str, Any]:
    settings = Settings(toolbox_url=toolbox_url, redis_url=redis_url, replica="bench")
    app = create_app(settings)
    expected = {incident.service: incident.root_cause for incident in catalogue()}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://agent"
        ) as agent_client,
        httpx.AsyncClient(trust_env=False) as bare_http,
    ):
        bare = build_bare_graph(toolbox_url, bare_http)
        wrong: list[str] = []

        async def agent_once(alert: dict[str, Any]) -> None:
            response = await agent_client.post("/investigate", json=alert)
            body = response.json()
            if body.get("root_cause") != expected[alert["service"]]:
                wrong.append(f"{alert['service']}: {response.status_code} {body}")

        async def bare_once(alert: dict[str, Any]) -> None:
            await bare.ainvoke({"alert": alert})

        for fn in (agent_once, bare_once):  # warm-up: imports, pools, caches
            await cpu_ms_per_call(fn, 16)
        agent_ms: list[float] = []
        bare_ms: list[float] = []
        for r in range(rounds):
            order = (agent_once, bare_once) if r % 2 == 0 else (bare_once, agent_once)
            for fn in order:
                ms = await cpu_ms_per_call(fn, per_round)
                (agent_ms if fn is agent_once else bare_ms).append(ms)
        if wrong:
            raise SystemExit(f"agent answered wrongly during the benchmark: {wrong[:3]}")
    agent_med, bare_med = statistics.median(agent_ms), statistics.median(bare_ms)
    return {
        "rounds": rounds,
        "per_round": per_round,
        "agent_cpu_ms": [round(x, 2) for x in agent_ms],
        "bare_cpu_ms": [round(x, 2) for x in bare_ms],
        "agent_cpu_ms_median": round(agent_med, 2),
        "bare_cpu_ms_median": round(bare_med, 2),
        "ratio": round(agent_med / bare_med, 3),
        "goal_ratio": GOAL_RATIO,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--per-round", type=int, default=40)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="stampede-bench-") as tmp:
        work = Path(tmp)
        redis_port, toolbox_port = procs.free_port(), procs.free_port()
        redis_proc = procs.start_redis_server(redis_port, work)
        toolbox_proc: procs.Proc | None = None
        try:
            toolbox_proc = procs.start_toolbox(
                toolbox_port, work / "toolbox.log", secrets.token_hex(8), "--log-level", "warning"
            )
            toolbox_url = f"http://{procs.LOCALHOST}:{toolbox_port}"
            result = asyncio.run(
                run(
                    args.rounds,
                    args.per_round,
                    toolbox_url,
                    f"redis://{procs.LOCALHOST}:{redis_port}/0",
                )
            )
        finally:
            if toolbox_proc is not None:
                procs.stop(toolbox_proc)
            procs.stop(redis_proc)

    print(f"rounds={result['rounds']} per_round={result['per_round']} (interleaved)")
    print(f"agent CPU ms/investigation per round: {result['agent_cpu_ms']}")
    print(f"bare  CPU ms/investigation per round: {result['bare_cpu_ms']}")
    print(
        f"median: agent {result['agent_cpu_ms_median']} ms, bare {result['bare_cpu_ms_median']} "
        f"ms, ratio {result['ratio']} (goal <= {GOAL_RATIO})"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["ratio"] <= GOAL_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
