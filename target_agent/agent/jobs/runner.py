"""One attempt at one job: run the checkpointed graph, resuming after its last completed node.

The graph is checkpointed after every node under ``thread_id = <job id>``. An attempt first
reads the job's latest checkpoint: none -> run from the alert; a run that stopped part-way ->
``ainvoke(None, config)`` continues with the next node (``resumed_from`` = the node before it);
a run that finished but was never recorded -> its final state, no call at all. Completed LLM
and tool calls are therefore not repeated, and because each LLM node's tokens are part of the
checkpointed state (``node_tokens``), the record bills them once. The record itself is
``investigator.build_record``'s, the synchronous answer's shape.

``no_checkpoint`` (weakness) gives every attempt a thread of its own (``<job id>:<attempt>``):
nothing is resumed, every attempt starts from scratch and pays every call again.

Billing: the checkpoints are the ledger. A finished job bills the ``node_tokens`` of every
thread it ran on - one thread for the reference agent, so each completed node is billed once;
one per attempt with ``no_checkpoint``, so the repeated nodes are billed too (as a provider
would), which is the cost amplification the weakness shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver

from target_agent.agent.graph import (
    NODES,
    InvestigationContext,
    InvestigationGraph,
    InvestigationState,
)
from target_agent.agent.resilience import Deadline
from target_agent.agent.settings import Settings


@dataclass(frozen=True)
class Attempt:
    """What one attempt produced: the final state and where it resumed (None: from scratch)."""

    state: InvestigationState
    resumed_from: str | None
    retries: int


class DurableRunner:
    """Runs attempts of jobs on the investigation graph, checkpointed or (weakness) not."""

    def __init__(
        self,
        graph: InvestigationGraph,
        checkpointer: BaseCheckpointSaver[Any],
        settings: Settings,
        resume: bool = True,
    ) -> None:
        self.settings = settings
        self.resume = resume
        self.compiled = graph.durable(checkpointer)

    def thread(self, job_id: str, attempt: int) -> str:
        return job_id if self.resume else f"{job_id}:{attempt}"

    async def billed_tokens(self, job_id: str, attempts: int) -> int:
        """Tokens of every completed LLM node of every thread the job ran on."""
        threads = {self.thread(job_id, n) for n in range(1, attempts + 1)}
        total = 0
        for thread in threads:
            snapshot = await self.compiled.aget_state(self._config(thread))
            total += sum((snapshot.values.get("node_tokens") or {}).values())
        return total

    async def forget(self, job_id: str, attempts: int) -> None:
        """Delete the checkpoints of a finished job (its record holds the answer now)."""
        for n in range(1, attempts + 1):
            await self.compiled.checkpointer.adelete_thread(self.thread(job_id, n))  # type: ignore[union-attr]

    async def resume_point(self, thread: str) -> tuple[bool, str | None, InvestigationState]:
        """``(has_checkpoint, resumed_from, values)`` of the thread's latest checkpoint."""
        snapshot = await self.compiled.aget_state(self._config(thread))
        if not snapshot.values:
            return False, None, {}
        values: InvestigationState = snapshot.values  # type: ignore[assignment]
        if "verdict" in values:  # finished, never recorded
            return True, NODES[-1], values
        # A node whose writes were saved but whose step's checkpoint was not (killed in
        # between) is a task with a result: LangGraph applies its writes and does not run it
        # again, and it is not in ``next``.
        done = [t.name for t in snapshot.tasks if t.result is not None and t.name in NODES]
        if done:
            return True, done[-1], values
        upcoming = snapshot.next[0] if snapshot.next else NODES[0]
        index = NODES.index(upcoming) if upcoming in NODES else 0
        return True, NODES[index - 1] if index > 0 else None, values

    async def run(
        self, job_id: str, attempt: int, alert: dict[str, Any], on_resume: Any = None
    ) -> Attempt:
        """Attempt ``attempt``; ``await on_resume(node)`` is called before continuing after it."""
        ctx = InvestigationContext(Deadline(self.settings.request_deadline_s))
        thread = self.thread(job_id, attempt)
        has_checkpoint, resumed_from, values = await self.resume_point(thread)
        if resumed_from is not None and on_resume is not None:
            await on_resume(resumed_from)
        if has_checkpoint and resumed_from == NODES[-1]:
            return Attempt(values, resumed_from, 0)
        config = self._config(thread)
        payload: InvestigationState | None = None if has_checkpoint else {"alert": alert}
        # durability="sync": a step's checkpoint is saved before the next step starts. LangGraph's
        # default ("async") saves it while the next step runs, so a worker killed meanwhile can
        # lose a completed node and make its LLM call again: the likely cause (not isolated) of
        # one run of the 120-job kill test with 342 LLM calls for a bound of 336; six runs after
        # this change stayed within the bound.
        state = await self.compiled.ainvoke(payload, config, context=ctx, durability="sync")
        return Attempt(cast(InvestigationState, state), resumed_from, ctx.stats.retries)

    @staticmethod
    def _config(thread: str) -> RunnableConfig:
        return {"configurable": {"thread_id": thread}}
