"""The investigation graph (LangGraph): planner (LLM) -> tools (parallel) -> reasoner -> verifier.

* **planner** asks the LLM which tools to call (``tool_calls``); when the LLM gives no answer
  the alert type's playbook is the plan (fallback ``llm/playbook``).
* **tools** calls every planned tool at once (``asyncio.gather`` inside one node: one
  superstep, cheaper than a ``Send`` fan-out for three calls). A failed tool falls back to its
  cached last good answer (stale) or is missing.
* **reasoner** gives the LLM every answer (or error text) as ``tool`` messages and parses its
  JSON claim; without an answer from the LLM the investigation degrades (``llm/degraded``).
  With no evidence at all there is nothing to reason about and no LLM call is made.
* **verifier** (``verifier.py``) decides ``complete`` or ``degraded``.

Deadlines: the planner keeps time for tools and reasoner, the tools keep time for the reasoner
(each at most half of what is left), the reasoner has the rest of the request deadline.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from target_agent.agent.llm import LLMClient, opening_messages, token_usage
from target_agent.agent.metrics import Metrics
from target_agent.agent.resilience import (
    CallStats,
    Deadline,
    Dependency,
    DependencyError,
    NotFound,
)
from target_agent.agent.resilience.fallback import playbook_plan
from target_agent.agent.store import Store
from target_agent.agent.tools import ToolClient
from target_agent.agent.verifier import Claim, Verdict, parse_claim, verify
from target_agent.vocabulary import TOOLS

EVIDENCE_FIELDS = ("data", "findings", "observed_at")
#: The nodes in the order they run (the graph is a line): what a resumed run continues after.
NODES = ("planner", "tools", "reasoner", "verifier")


def _merge_tokens(left: dict[str, int] | None, right: dict[str, int] | None) -> dict[str, int]:
    """Reducer of ``node_tokens``: each node's tokens, the latest write of a node wins."""
    return {**(left or {}), **(right or {})}


class PlannedCall(TypedDict):
    id: str
    tool: str
    service: str


class InvestigationState(TypedDict, total=False):
    alert: dict[str, Any]
    planner_message: AIMessage | None
    plan: list[PlannedCall]
    evidence: dict[str, dict[str, Any]]  # tool -> answer, fresh or stale
    stale: list[str]
    errors: dict[str, str]  # tool -> why it gave no evidence
    claim: Claim | None
    verdict: Verdict
    # Tokens of each completed LLM node, checkpointed with the node's output: a resumed run
    # bills what it inherits once (target_agent/agent/jobs/).
    node_tokens: Annotated[dict[str, int], _merge_tokens]


@dataclass
class InvestigationContext:
    """Per-request context handed to every node (LangGraph ``Runtime.context``)."""

    deadline: Deadline
    stats: CallStats = field(default_factory=CallStats)
    tokens: int = 0


#: The compiled graph with a checkpointer (``InvestigationGraph.durable``).
DurableGraph = CompiledStateGraph[
    InvestigationState, InvestigationContext, InvestigationState, InvestigationState
]


@dataclass
class GraphServices:
    llm: LLMClient
    llm_dependency: Dependency
    tools: ToolClient
    tool_dependencies: Mapping[str, Dependency]
    store: Store
    metrics: Metrics
    llm_timeout_s: float
    tool_timeout_s: float
    trust_tools: bool = False


def _evidence_view(answer: Mapping[str, Any], stale: bool) -> dict[str, Any]:
    view = {key: answer[key] for key in EVIDENCE_FIELDS if key in answer}
    view["stale"] = stale
    return view


def _plan_from(message: AIMessage, service: str) -> list[PlannedCall]:
    plan: list[PlannedCall] = []
    seen: set[str] = set()
    for n, call in enumerate(message.tool_calls):
        tool = call.get("name")
        if tool not in TOOLS or tool in seen:
            continue
        seen.add(tool)
        args = call.get("args") or {}
        asked = args.get("service")
        target = asked if isinstance(asked, str) and asked else service
        plan.append({"id": call.get("id") or f"call_{n}", "tool": tool, "service": target})
    return plan


def _playbook(alert: Mapping[str, Any]) -> list[PlannedCall]:
    return [
        {"id": f"playbook_{n}", "tool": tool, "service": alert["service"]}
        for n, tool in enumerate(playbook_plan(alert["alert_type"]))
    ]


class InvestigationGraph:
    """Builds and runs the compiled graph; nodes close over the long-lived services."""

    def __init__(self, services: GraphServices) -> None:
        self.s = services
        builder = StateGraph(InvestigationState, context_schema=InvestigationContext)
        builder.add_node("planner", self.planner)
        builder.add_node("tools", self.tools)
        builder.add_node("reasoner", self.reasoner)
        builder.add_node("verifier", self.verifier)
        builder.add_edge(START, "planner")
        builder.add_edge("planner", "tools")
        builder.add_edge("tools", "reasoner")
        builder.add_edge("reasoner", "verifier")
        builder.add_edge("verifier", END)
        self.builder = builder
        self.compiled = builder.compile()

    def durable(self, checkpointer: BaseCheckpointSaver[Any] | None) -> DurableGraph:
        """The same graph checkpointed after every node (runs keyed by ``thread_id``)."""
        return self.builder.compile(checkpointer=checkpointer)

    async def run(self, alert: dict[str, Any], ctx: InvestigationContext) -> InvestigationState:
        result = await self.compiled.ainvoke({"alert": alert}, context=ctx)
        return result  # type: ignore[return-value]

    # -- nodes ---------------------------------------------------------------------------------

    async def planner(
        self, state: InvestigationState, runtime: Runtime[InvestigationContext]
    ) -> dict[str, Any]:
        s, ctx, alert = self.s, runtime.context, state["alert"]
        messages = opening_messages(alert)
        deadline = ctx.deadline.shortened(s.llm_timeout_s + s.tool_timeout_s)
        try:
            answer = await s.llm_dependency.call(
                lambda _t: s.llm.plan(messages), deadline, ctx.stats
            )
        except DependencyError:
            s.metrics.fallbacks.labels("llm", "playbook").inc()
            return {"plan": _playbook(alert), "planner_message": None}
        used = token_usage(answer)
        ctx.tokens += used
        plan = _plan_from(answer, alert["service"])
        if not plan:
            s.metrics.fallbacks.labels("llm", "playbook").inc()
            return {
                "plan": _playbook(alert),
                "planner_message": None,
                "node_tokens": {"planner": used},
            }
        return {"plan": plan, "planner_message": answer, "node_tokens": {"planner": used}}

    async def tools(
        self, state: InvestigationState, runtime: Runtime[InvestigationContext]
    ) -> dict[str, Any]:
        ctx = runtime.context
        deadline = ctx.deadline.shortened(self.s.llm_timeout_s)
        outcomes = await asyncio.gather(
            *(self._call_tool(call, deadline, ctx) for call in state["plan"])
        )
        evidence: dict[str, dict[str, Any]] = {}
        stale: list[str] = []
        errors: dict[str, str] = {}
        for call, (answer, is_stale, error) in zip(state["plan"], outcomes, strict=True):
            if answer is not None:
                evidence[call["tool"]] = answer
                if is_stale:
                    stale.append(call["tool"])
            else:
                errors[call["tool"]] = error or "no evidence"
        return {"evidence": evidence, "stale": stale, "errors": errors}

    async def _call_tool(
        self, call: PlannedCall, deadline: Deadline, ctx: InvestigationContext
    ) -> tuple[dict[str, Any] | None, bool, str | None]:
        s, tool, service = self.s, call["tool"], call["service"]
        try:
            answer = await s.tool_dependencies[tool].call(
                lambda timeout: s.tools.call(tool, service, timeout), deadline, ctx.stats
            )
        except DependencyError as exc:
            s.metrics.tool_calls.labels(tool, exc.kind).inc()
            if isinstance(exc, NotFound):
                return None, False, str(exc)
            cached = await s.store.cached_evidence(tool, service, ctx.deadline, ctx.stats)
            if cached is not None:
                s.metrics.fallbacks.labels(f"tool:{tool}", "stale").inc()
                return cached, True, None
            s.metrics.fallbacks.labels(f"tool:{tool}", "missing").inc()
            return None, False, str(exc)
        s.metrics.tool_calls.labels(tool, "ok").inc()
        return answer, False, None

    async def reasoner(
        self, state: InvestigationState, runtime: Runtime[InvestigationContext]
    ) -> dict[str, Any]:
        s, ctx = self.s, runtime.context
        evidence, errors = state["evidence"], state["errors"]
        if not evidence:
            return {"claim": None}
        plan = state["plan"]
        planner_message = state.get("planner_message") or AIMessage(
            content="",
            tool_calls=[
                {"name": c["tool"], "args": {"service": c["service"]}, "id": c["id"]} for c in plan
            ],
        )
        messages: list[BaseMessage] = [*opening_messages(state["alert"]), planner_message]
        for call in plan:
            tool = call["tool"]
            if tool in evidence:
                content = json.dumps(
                    {"tool": tool, "service": call["service"], **evidence[tool]},
                    separators=(",", ":"),
                )
            else:
                content = f"error: {tool} gave no evidence ({errors.get(tool, 'unknown')})"
            messages.append(ToolMessage(content=content, tool_call_id=call["id"], name=tool))
        try:
            answer = await s.llm_dependency.call(
                lambda _t: s.llm.reason(messages), ctx.deadline, ctx.stats
            )
        except DependencyError:
            s.metrics.fallbacks.labels("llm", "degraded").inc()
            return {"claim": None}
        used = token_usage(answer)
        ctx.tokens += used
        return {"claim": parse_claim(answer.content), "node_tokens": {"reasoner": used}}

    async def verifier(
        self, state: InvestigationState, runtime: Runtime[InvestigationContext]
    ) -> dict[str, Any]:
        verdict = verify(
            [call["tool"] for call in state["plan"]],
            state["evidence"],
            state["stale"],
            state.get("claim"),
            trust_claim=self.s.trust_tools,
        )
        return {"verdict": verdict}


def evidence_for_response(state: InvestigationState) -> dict[str, dict[str, Any]]:
    """``evidence`` of the response: each answering tool's data and findings, stale flagged."""
    stale = set(state["stale"])
    return {
        tool: _evidence_view(answer, tool in stale) for tool, answer in state["evidence"].items()
    }


def fresh_answers(state: InvestigationState) -> dict[tuple[str, str], dict[str, Any]]:
    """``(tool, service) -> answer`` of the tools that answered now (what the cache stores)."""
    stale = set(state["stale"])
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for call in state["plan"]:
        tool = call["tool"]
        if tool in state["evidence"] and tool not in stale:
            out[(tool, call["service"])] = _evidence_view(state["evidence"][tool], False)
    return out
