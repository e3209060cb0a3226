"""One dependency (``llm``, ``tool:<name>``, ``redis``) behind every resilience mechanism.

A call runs attempts until one succeeds, a final error, or the policy stops it::

    budget.deposit()                              first attempt feeds the retry budget
    tenacity loop (retry.py)                      backoff + jitter, Retry-After, stop rules
      └─ attempt
           ├─ limit.slot(deadline)                concurrency limit, waiting bounded
           ├─ breaker.admit()                     fail fast while open; one half-open probe
           └─ asyncio.timeout(attempt timeout)    min(per-attempt timeout, deadline left)
                └─ fn(timeout)                    the client call; library errors translated

Breaker accounting: timeouts, 5xx and connection errors are failures; a client error (4xx) is
the dependency answering; a 429 is neither — a rate limit says "slow down", not "broken", and is
handled by Retry-After and the retry budget (tripping the breaker on it would turn a quota into
an outage). A cancelled attempt is neither either.

The caller handles the final :class:`DependencyError` with the fallback of its dependency.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

from target_agent.agent.metrics import Metrics
from target_agent.agent.resilience.breaker import Breaker
from target_agent.agent.resilience.budget import RetryBudget
from target_agent.agent.resilience.errors import (
    AttemptTimeout,
    DeadlineExceeded,
    DependencyClientError,
    DependencyUnavailable,
)
from target_agent.agent.resilience.limits import ConcurrencyLimit
from target_agent.agent.resilience.retry import (
    BackoffOrRetryAfter,
    RetryDetails,
    StopRetrying,
    retryable,
)
from target_agent.agent.resilience.timeouts import MIN_ATTEMPT_S, Deadline
from target_agent.agent.settings import DependencyPolicy

T = TypeVar("T")

RATE_LIMITED = 429


@dataclass
class CallStats:
    """What one investigation spent: retries over all its dependency calls."""

    retries: int = 0


@dataclass(frozen=True)
class AttemptDetails:
    """An attempt about to call the dependency (``at`` is ``time.monotonic()``)."""

    dependency: str
    attempt: int
    at: float


@dataclass
class Hooks:
    """Instrumentation callables; tests use them to observe timing without patching."""

    on_retry: list[Callable[[RetryDetails], None]] = field(default_factory=list)
    on_attempt: list[Callable[[AttemptDetails], None]] = field(default_factory=list)


class Dependency:
    def __init__(
        self,
        name: str,
        policy: DependencyPolicy,
        breaker: Breaker | None,
        metrics: Metrics,
        hooks: Hooks | None = None,
    ) -> None:
        self.name = name
        self.policy = policy
        self.breaker = breaker
        self.metrics = metrics
        self.hooks = hooks or Hooks()
        self.limit = ConcurrencyLimit(name, policy.concurrency)
        self.budget = (
            RetryBudget(policy.budget_ratio, policy.budget_burst, policy.budget_min_per_s)
            if policy.budget
            else None
        )
        self._wait = BackoffOrRetryAfter(policy)
        self._retry = retry_if_exception(retryable)
        self._retries = metrics.retries.labels(name)
        self._exhausted = metrics.budget_exhausted.labels(name)

    async def call(
        self,
        fn: Callable[[float], Awaitable[T]],
        deadline: Deadline,
        stats: CallStats | None = None,
    ) -> T:
        """Run ``fn(attempt_timeout_s)`` under every mechanism; raise the final error."""
        if self.budget is not None:
            self.budget.deposit()
        if self.policy.max_attempts == 1:
            return await self._attempt(fn, deadline, 1)
        attempt_no = 0

        async def attempt() -> T:
            nonlocal attempt_no
            attempt_no += 1
            return await self._attempt(fn, deadline, attempt_no)

        def before_sleep(state: RetryCallState) -> None:
            self._retries.inc()
            if stats is not None:
                stats.retries += 1
            if self.hooks.on_retry:
                outcome = state.outcome
                exc = outcome.exception() if outcome is not None else None
                details = RetryDetails(
                    dependency=self.name,
                    attempt=state.attempt_number,
                    wait_s=state.upcoming_sleep,
                    error_type=type(exc).__name__,
                    retry_after_s=getattr(exc, "retry_after", None),
                )
                for hook in self.hooks.on_retry:
                    hook(details)

        retrying = AsyncRetrying(
            sleep=asyncio.sleep,
            stop=StopRetrying(self.policy, deadline, self.budget, self._exhausted.inc),
            wait=self._wait,
            retry=self._retry,
            before_sleep=before_sleep,
            reraise=True,
        )
        return await retrying(attempt)

    async def _attempt(
        self, fn: Callable[[float], Awaitable[T]], deadline: Deadline, attempt_no: int
    ) -> T:
        if deadline.remaining() < MIN_ATTEMPT_S:
            raise DeadlineExceeded(self.name, "no time left before the request deadline")
        async with self.limit.slot(deadline):
            breaker = self.breaker
            probe = await breaker.admit() if breaker is not None else False
            timeout = deadline.attempt_timeout(self.policy.timeout_s)
            for hook in self.hooks.on_attempt:
                hook(AttemptDetails(self.name, attempt_no, time.monotonic()))
            try:
                async with asyncio.timeout(timeout):
                    result = await fn(timeout)
            except TimeoutError:
                error = AttemptTimeout(self.name, f"no answer within {timeout:.2f} s")
                if breaker is not None:
                    await breaker.failed(probe, error)
                raise error from None
            except DependencyUnavailable as exc:
                if breaker is not None:
                    if exc.status == RATE_LIMITED:  # over quota, not broken: budget's job
                        await breaker.abandoned(probe)
                    else:
                        await breaker.failed(probe, exc)
                raise
            except DependencyClientError:
                if breaker is not None:
                    await breaker.succeeded(probe)
                raise
            except BaseException:
                if breaker is not None:
                    await breaker.abandoned(probe)
                raise
            if breaker is not None:
                await breaker.succeeded(probe)
            return result
