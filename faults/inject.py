"""Applying a fault to one call *before* it is answered: shared by the toolbox and the proxy.

Order, for the fault in force on the call target (see ``FaultStore.effective``):

1. rate limit — an empty request bucket rejects the call at once: 429 + ``Retry-After``;
2. token limit — a token budget at or below zero (``rate_limit_tpm``) rejects it the same way;
3. hang — hold the call (asyncio sleep, polling every ``poll_s``) until the client disconnects
   or the fault expires, is cleared or replaced; then 504 (the call never succeeds);
4. latency — sleep ``latency_ms`` plus jitter drawn from ``latency_dist``;
5. reset — ``InjectedReset``: the server aborts the connection, nothing is answered;
6. error — with probability ``error_rate``, fail with ``error_status`` (+ ``Retry-After`` when
   429 or 503, as seconds or as an HTTP date).

What changes the *answer* (content rules, corrupt bodies, stream shaping) is applied by the
caller on the fault this returns (``faults.content``, ``faults.stream``). Draws come from one
``random.Random``: the same seed and the same call sequence give the same outcomes.

``apply(..., injected=...)`` reports each kind as it is injected (``latency`` and ``hang`` when
the wait *starts*), so a caller counts what was injected when, even for a call whose client
leaves during the wait.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable
from email.utils import formatdate

from faults.model import MAX_DELAY_MS, FaultSpec
from faults.store import ActiveFault, FaultStore

#: Statuses that tell a client when to come back.
RETRY_AFTER_STATUSES = frozenset({429, 503})
#: Every ``result`` label a call can get from the shared model (servers add their own).
RESULTS: tuple[str, ...] = (
    "ok",
    "error",
    "rate_limited",
    "hang",
    "reset",
    "corrupt",
    "rewritten",
    "stream_cut",
    "stream_malformed",
)

Disconnected = Callable[[], Awaitable[bool]]
Injected = Callable[[str], None]


class InjectedFault(Exception):
    """A call failed on purpose; ``result`` is its metrics label."""

    def __init__(
        self, status: int, message: str, result: str, retry_after: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.result = result
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        if self.retry_after is None:
            return {}
        return {"Retry-After": self.retry_after}


class InjectedReset(Exception):
    """The call's connection is to be reset (no answer at all)."""

    result = "reset"


def retry_after(spec: FaultSpec, wall_now: float) -> str:
    """The ``Retry-After`` value: delta-seconds, or the HTTP date that many seconds ahead."""
    if spec.retry_after_format == "http-date":
        return formatdate(math.ceil(wall_now + spec.retry_after_s), usegmt=True)
    return str(spec.retry_after_s)


def _ignore(kind: str) -> None:
    """An ``Injected`` that keeps nothing (a caller that does not count kinds)."""


class FaultInjector:
    """Applies the store's faults to calls, drawing randomness from ``rng``."""

    def __init__(self, store: FaultStore, rng: random.Random, poll_s: float = 0.1) -> None:
        self.store = store
        self.rng = rng
        self.poll_s = poll_s

    def delay_s(self, spec: FaultSpec) -> float:
        """The delay of one call: ``latency_ms`` plus jitter from ``latency_dist`` (capped)."""
        extra = 0.0
        if spec.jitter_ms > 0 and spec.latency_dist == "uniform":
            extra = self.rng.uniform(0.0, spec.jitter_ms)
        elif spec.jitter_ms > 0 and spec.latency_dist == "lognormal":
            extra = spec.jitter_ms * math.exp(spec.jitter_sigma * self.rng.gauss(0.0, 1.0))
        return min(spec.latency_ms + extra, MAX_DELAY_MS) / 1000.0

    def fails(self, spec: FaultSpec) -> bool:
        if spec.error_rate <= 0.0:
            return False
        return spec.error_rate >= 1.0 or self.rng.random() < spec.error_rate

    def _limited(self, fault: ActiveFault, message: str) -> InjectedFault:
        return InjectedFault(
            429, message, "rate_limited", retry_after(fault.spec, self.store.wall())
        )

    async def apply(
        self,
        call_target: str,
        disconnected: Disconnected | None = None,
        injected: Injected | None = None,
    ) -> ActiveFault | None:
        """Apply the fault on ``call_target``; return it, or raise ``InjectedFault``/``Reset``.

        ``injected`` (when given) is called with each fault kind as it is applied: ``latency``
        and ``hang`` before the wait, the others before raising.
        """
        fault = self.store.effective(call_target)
        if fault is None:
            return None
        report = injected or _ignore
        spec, now = fault.spec, self.store.clock()
        if fault.bucket is not None and not fault.bucket.take(now):
            report("rate_limited")
            raise self._limited(
                fault, f"rate limit of {spec.rate_limit_rps:g} req/s exceeded on {fault.target}"
            )
        if fault.budget is not None and not fault.budget.has_credit(now):
            report("rate_limited")
            raise self._limited(
                fault,
                f"token rate limit of {spec.rate_limit_tpm:g} tokens/min exceeded on "
                f"{fault.target}",
            )
        if spec.hang:
            report("hang")
            held = await self._hang(fault, disconnected)
            raise InjectedFault(
                504, f"injected hang on {fault.target} ended after {held:.1f} s", "hang"
            )
        delay = self.delay_s(spec)
        if delay > 0:
            report("latency")
            await asyncio.sleep(delay)
        if spec.reset:
            report("reset")
            raise InjectedReset(f"injected connection reset on {fault.target}")
        if self.fails(spec):
            report("error")
            status = spec.error_status
            raise InjectedFault(
                status,
                f"injected error {status} on {fault.target}",
                "error",
                retry_after(spec, self.store.wall()) if status in RETRY_AFTER_STATUSES else None,
            )
        return fault

    def charge(self, fault: ActiveFault | None, tokens: int | None) -> None:
        """Spend an answered call's ``usage`` tokens from the fault's token budget, if any."""
        if fault is not None and fault.budget is not None and tokens:
            fault.budget.charge(float(tokens), self.store.clock())

    async def _hang(self, fault: ActiveFault, disconnected: Disconnected | None) -> float:
        """Hold until the client leaves or ``fault`` stops being current; seconds held."""
        started = self.store.clock()
        while self.store.is_current(fault):
            if disconnected is not None and await disconnected():
                break
            await asyncio.sleep(min(self.poll_s, self.store.remaining_s(fault)))
        return self.store.clock() - started
