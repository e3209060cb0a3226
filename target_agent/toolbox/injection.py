"""Applying a fault to one call: the single place shared by the LLM and the tool endpoints.

Order, for the fault in force on the call target (see ``FaultStore.effective``):

1. rate limit — an empty token bucket rejects the call at once: 429 + ``Retry-After``;
2. hang — hold the call (asyncio sleep, polling every ``poll_s``) until the client disconnects
   or the fault expires, is cleared or replaced; then 504 (the call never succeeds);
3. latency — sleep ``latency_ms + U(0, jitter_ms)``;
4. error — with probability ``error_rate``, fail with ``error_status`` (+ ``Retry-After`` when
   429 or 503).

``lie`` and ``hallucinate`` change the *content* of a successful answer, so the endpoints apply
them on the fault this helper returns. Draws come from one ``random.Random`` seeded by
``TOOLBOX_SEED``: the same seed and the same call sequence give the same outcomes.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

from target_agent.toolbox.faults import ActiveFault, FaultSpec, FaultStore

#: Statuses that tell a client when to come back.
RETRY_AFTER_STATUSES = frozenset({429, 503})

Disconnected = Callable[[], Awaitable[bool]]


class InjectedFault(Exception):
    """A call failed on purpose; ``result`` is its ``toolbox_calls_total`` label."""

    def __init__(
        self, status: int, message: str, result: str, retry_after_s: int | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.result = result
        self.retry_after_s = retry_after_s

    @property
    def headers(self) -> dict[str, str]:
        if self.retry_after_s is None:
            return {}
        return {"Retry-After": str(self.retry_after_s)}


class FaultInjector:
    """Applies the store's faults to calls, drawing randomness from ``rng``."""

    def __init__(self, store: FaultStore, rng: random.Random, poll_s: float = 0.1) -> None:
        self.store = store
        self.rng = rng
        self.poll_s = poll_s

    def delay_s(self, spec: FaultSpec) -> float:
        """The delay of one call: ``latency_ms`` plus uniform jitter in ``[0, jitter_ms]``."""
        jitter = self.rng.uniform(0.0, spec.jitter_ms) if spec.jitter_ms > 0 else 0.0
        return (spec.latency_ms + jitter) / 1000.0

    def fails(self, spec: FaultSpec) -> bool:
        if spec.error_rate <= 0.0:
            return False
        return spec.error_rate >= 1.0 or self.rng.random() < spec.error_rate

    async def apply(
        self, call_target: str, disconnected: Disconnected | None = None
    ) -> ActiveFault | None:
        """Apply the fault on ``call_target``; return it, or raise ``InjectedFault``."""
        fault = self.store.effective(call_target)
        if fault is None:
            return None
        spec = fault.spec
        if fault.bucket is not None and not fault.bucket.take(self.store.clock()):
            raise InjectedFault(
                429,
                f"rate limit of {spec.rate_limit_rps:g} req/s exceeded on {fault.target}",
                "rate_limited",
                spec.retry_after_s,
            )
        if spec.hang:
            held = await self._hang(fault, disconnected)
            raise InjectedFault(
                504, f"injected hang on {fault.target} ended after {held:.1f} s", "hang"
            )
        delay = self.delay_s(spec)
        if delay > 0:
            await asyncio.sleep(delay)
        if self.fails(spec):
            status = spec.error_status
            raise InjectedFault(
                status,
                f"injected error {status} on {fault.target}",
                "error",
                spec.retry_after_s if status in RETRY_AFTER_STATUSES else None,
            )
        return fault

    async def _hang(self, fault: ActiveFault, disconnected: Disconnected | None) -> float:
        """Hold until the client leaves or ``fault`` stops being current; seconds held."""
        started = self.store.clock()
        while self.store.is_current(fault):
            if disconnected is not None and await disconnected():
                break
            await asyncio.sleep(min(self.poll_s, self.store.remaining_s(fault)))
        return self.store.clock() - started
