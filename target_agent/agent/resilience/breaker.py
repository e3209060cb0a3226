"""Circuit breaker: purgatory's state machine, one breaker per dependency per worker process.

The breakers come from purgatory's ``AsyncCircuitBreakerFactory`` with in-memory storage (state
is per worker: a worker that sees a dependency fail stops calling it without asking anyone).
``threshold`` consecutive failures open the breaker; while open, calls fail fast with
:class:`BreakerOpen` without reaching the dependency; after ``ttl`` seconds it is half-open.

This adapter drives purgatory's ``Context`` directly instead of ``async with breaker`` because:

* purgatory half-open lets *every* caller through; here only one probe runs at a time and the
  others fail fast until the probe has settled the state;
* a cancelled attempt (client gone, deadline of a sibling) must be neither a failure nor a
  success; client errors (a 404 for an unknown service) count as the dependency answering;
* purgatory raises the same ``OpenedState`` instance on every rejected call, and re-raising one
  exception object appends to its ``__traceback__`` each time: under a long outage that chain
  (and every frame it pins) grows without bound. The traceback is cleared on each rejection.
"""

from __future__ import annotations

from collections.abc import Callable

from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import CLOSED, HALF_OPENED, OpenedState
from purgatory.service._async.circuitbreaker import AsyncCircuitBreaker

from target_agent.agent.resilience.errors import BreakerOpen

StateHook = Callable[[str, str], None]


class Breaker:
    """The breaker of one dependency; ``on_state(dependency, state)`` hears every change."""

    def __init__(self, dependency: str, breaker: AsyncCircuitBreaker, on_state: StateHook) -> None:
        self.dependency = dependency
        self._brk = breaker
        self._ctx = breaker.context
        self._on_state = on_state
        self._probe_busy = False
        self._reported = self._ctx.state
        on_state(dependency, self._reported)

    @classmethod
    async def create(
        cls,
        factory: AsyncCircuitBreakerFactory,
        dependency: str,
        threshold: int,
        ttl_s: float,
        on_state: StateHook,
    ) -> Breaker:
        brk = await factory.get_breaker(dependency, threshold=threshold, ttl=ttl_s)
        return cls(dependency, brk, on_state)

    @property
    def state(self) -> str:
        """``closed``, ``half-opened`` or ``opened`` (purgatory's names)."""
        return self._ctx.state

    async def admit(self) -> bool:
        """Let a call through or raise :class:`BreakerOpen`; True when the call is the probe."""
        ctx = self._ctx
        if self._probe_busy and ctx.state != CLOSED:
            raise BreakerOpen(self.dependency, "circuit half-open, probe in flight")
        try:
            ctx.handle_new_request()
        except OpenedState as exc:
            exc.__traceback__ = None
            raise BreakerOpen(self.dependency, "circuit open") from None
        probe = ctx.state == HALF_OPENED
        if probe:
            self._probe_busy = True
        await self._publish()
        return probe

    async def succeeded(self, probe: bool) -> None:
        """The dependency answered (a client error counts: the dependency is up)."""
        self._ctx.handle_end_request()
        await self._settle(probe)

    async def failed(self, probe: bool, exc: BaseException) -> None:
        """The dependency failed (timeout, 5xx, 429, connection error)."""
        self._ctx.handle_exception(exc)
        await self._settle(probe)

    async def abandoned(self, probe: bool) -> None:
        """The attempt was cancelled before it said anything about the dependency."""
        await self._settle(probe)

    async def _settle(self, probe: bool) -> None:
        if probe:
            self._probe_busy = False
        await self._publish()

    async def _publish(self) -> None:
        ctx = self._ctx
        while ctx.messages:
            await self._brk.messagebus.handle(ctx.messages.pop(0), self._brk.uow)
        if ctx.state != self._reported:
            self._reported = ctx.state
            self._on_state(self.dependency, ctx.state)
