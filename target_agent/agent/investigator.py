"""One investigation end to end: idempotency, the graph, the record, its storage, accounting.

An ``Idempotency-Key`` is claimed with the digest of the request body, as a lock of
``Settings.idempotency_lock_ttl_s`` (the request deadline plus a margin). The claim ends on every
exit path: a saved record turns it into the completed result's claim (the record's TTL, so a
retry is answered with the same investigation); an error or a cancellation releases it (in a
``finally``, shielded), so a retry may start afresh; a worker that dies holds it until the lock
expires. The same key with another body is refused (:class:`IdempotencyConflict`, 422).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

from target_agent.agent.graph import (
    InvestigationContext,
    InvestigationGraph,
    InvestigationState,
    evidence_for_response,
    fresh_answers,
)
from target_agent.agent.metrics import Metrics
from target_agent.agent.resilience import Deadline
from target_agent.agent.settings import Settings
from target_agent.agent.store import Claim, Store, StoreUnavailable, body_digest

POLL_S = 0.05


class IdempotencyPending(Exception):
    """Another request with the same Idempotency-Key is still running."""

    def __init__(self, investigation_id: str) -> None:
        super().__init__(
            f"investigation {investigation_id} for this Idempotency-Key is in progress"
        )
        self.investigation_id = investigation_id


class IdempotencyConflict(Exception):
    """The Idempotency-Key was first used with a different request body."""

    def __init__(self, key: str) -> None:
        super().__init__(
            f"Idempotency-Key {key!r} was already used with a different request body; "
            "use a new key for a different alert"
        )
        self.key = key


def build_record(
    investigation_id: str,
    alert: dict[str, Any],
    state: InvestigationState,
    tokens: int,
    retries: int,
    settings: Settings,
) -> dict[str, Any]:
    """The answer of one investigation: ``POST /investigate``'s body and a durable job's."""
    verdict = state["verdict"]
    return {
        "investigation_id": investigation_id,
        "status": verdict.status,
        "root_cause": verdict.root_cause,
        "suspected_root_cause": verdict.suspected_root_cause,
        "evidence": evidence_for_response(state),
        "missing_evidence": verdict.missing_evidence,
        "stale_evidence": verdict.stale_evidence,
        "tokens": tokens,
        "cost_usd": round(tokens / 1000 * settings.cost_per_1k_tokens_usd, 8),
        "retries": retries,
        "replica": settings.replica,
        "alert": alert,
        "created_at": time.time(),
    }


@dataclass(frozen=True)
class Outcome:
    record: dict[str, Any]
    replayed: bool  # True when an earlier investigation with the same key is returned


class Investigator:
    def __init__(
        self, settings: Settings, graph: InvestigationGraph, store: Store, metrics: Metrics
    ) -> None:
        self.settings = settings
        self.graph = graph
        self.store = store
        self.metrics = metrics

    async def investigate(self, alert: dict[str, Any], idempotency_key: str | None) -> Outcome:
        deadline = Deadline(self.settings.request_deadline_s)
        investigation_id = uuid.uuid4().hex
        if idempotency_key:
            claim = Claim(investigation_id, body_digest(alert))
            ttl_s = self.settings.idempotency_lock_ttl_s
            existing = await self.store.claim(idempotency_key, claim, ttl_s, deadline)
            if existing is not None and existing.investigation_id != investigation_id:
                if existing.body_digest and existing.body_digest != claim.body_digest:
                    raise IdempotencyConflict(idempotency_key)
                earlier = await self._await_record(existing.investigation_id, deadline)
                if earlier is None:
                    raise IdempotencyPending(existing.investigation_id)
                return Outcome(earlier, replayed=True)
        saved = False
        try:
            record = await self._run(alert, investigation_id, deadline, idempotency_key)
            saved = True
        finally:
            if idempotency_key and not saved:  # error or cancellation: a retry starts afresh
                await asyncio.shield(self.store.release(idempotency_key, investigation_id))
        return Outcome(record, replayed=False)

    async def _run(
        self,
        alert: dict[str, Any],
        investigation_id: str,
        deadline: Deadline,
        idempotency_key: str | None,
    ) -> dict[str, Any]:
        """Run the graph, build the record, store it (Redis or write-behind) and account it."""
        ctx = InvestigationContext(deadline)
        state = await self.graph.run(alert, ctx)
        record = build_record(
            investigation_id, alert, state, ctx.tokens, ctx.stats.retries, self.settings
        )
        await self.store.save(record, idempotency_key, fresh_answers(state))
        self.metrics.tokens.inc(ctx.tokens)
        self.metrics.cost.inc(record["cost_usd"])
        return record

    async def _await_record(
        self, investigation_id: str, deadline: Deadline
    ) -> dict[str, Any] | None:
        """Wait (bounded) for the record of a concurrent request with the same key."""
        loop = asyncio.get_running_loop()
        end = loop.time() + min(self.settings.idempotency_wait_s, deadline.remaining())
        while True:
            try:
                record = await self.store.load(investigation_id)
            except StoreUnavailable:
                record = None
            if record is not None or loop.time() >= end:
                return record
            await asyncio.sleep(POLL_S)
