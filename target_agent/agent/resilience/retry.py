"""Retries: exponential backoff with full jitter that honours ``Retry-After``, on tenacity.

tenacity supplies the loop and the ordering the policy needs — the wait is computed before the
stop decision, so a stop can see ``upcoming_sleep`` — and this module supplies three pieces:

* :class:`BackoffOrRetryAfter` (wait): full jitter, ``uniform(0, min(max, base * 2**n))``,
  raised to the dependency's ``Retry-After`` when it sent one (a 429/503);
* :class:`StopRetrying` (stop): after ``max_attempts``; when ``Retry-After`` exceeds the cap;
  when the wait would not leave time for another attempt before the deadline; and, checked
  last so that only a retry that will really happen spends a token, when the retry budget is
  empty (the ``on_exhausted`` hook counts it);
* :func:`retryable`: transient failures only (:class:`DependencyUnavailable`); rejections
  (breaker open, no capacity, deadline) and client errors are final.

Hooks receive a frozen :class:`RetryDetails`, like stamina's instrumentation.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from tenacity import RetryCallState
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from target_agent.agent.resilience.budget import RetryBudget
from target_agent.agent.resilience.errors import DependencyUnavailable
from target_agent.agent.resilience.timeouts import MIN_ATTEMPT_S, Deadline
from target_agent.agent.settings import DependencyPolicy


@dataclass(frozen=True)
class RetryDetails:
    """One retry about to happen: which dependency, which attempt, how long it waits, why."""

    dependency: str
    attempt: int
    wait_s: float
    error_type: str
    retry_after_s: float | None


def retryable(exc: BaseException) -> bool:
    return isinstance(exc, DependencyUnavailable)


def _retry_after(state: RetryCallState) -> float | None:
    outcome = state.outcome
    exc = outcome.exception() if outcome is not None else None
    return exc.retry_after if isinstance(exc, DependencyUnavailable) else None


class BackoffOrRetryAfter(wait_base):
    """Full-jitter exponential backoff, but never shorter than the ``Retry-After`` received."""

    def __init__(self, policy: DependencyPolicy, rng: random.Random | None = None) -> None:
        self.policy = policy
        self.rng = rng or random.Random()

    def __call__(self, retry_state: RetryCallState) -> float:
        policy = self.policy
        ceiling = min(
            policy.backoff_max_s, policy.backoff_base_s * 2 ** (retry_state.attempt_number - 1)
        )
        wait = self.rng.uniform(0.0, ceiling) if ceiling > 0 else 0.0
        if policy.honour_retry_after:
            retry_after = _retry_after(retry_state)
            if retry_after is not None:
                wait = max(wait, retry_after)
        return wait


class StopRetrying(stop_base):
    """Stop on attempts, on an over-long Retry-After, on the deadline, then on the budget."""

    def __init__(
        self,
        policy: DependencyPolicy,
        deadline: Deadline,
        budget: RetryBudget | None,
        on_exhausted: Callable[[], None],
    ) -> None:
        self.policy = policy
        self.deadline = deadline
        self.budget = budget
        self.on_exhausted = on_exhausted

    def __call__(self, retry_state: RetryCallState) -> bool:
        policy = self.policy
        if retry_state.attempt_number >= policy.max_attempts:
            return True
        if policy.honour_retry_after:
            retry_after = _retry_after(retry_state)
            if retry_after is not None and retry_after > policy.retry_after_max_s:
                return True
        if retry_state.upcoming_sleep + MIN_ATTEMPT_S >= self.deadline.remaining():
            return True
        if self.budget is not None and not self.budget.try_withdraw():
            self.on_exhausted()
            return True
        return False
