"""Retry budget: retries capped as a share of recent traffic, so faults cannot become storms.

A token bucket per dependency, like Finagle's ``RetryBudget`` and Envoy's retry budgets: every
first attempt deposits ``ratio`` tokens (0.2 = retries may add at most 20 % to the traffic),
every retry withdraws one, and a small time-based refill (``min_per_s``) keeps retries possible
when traffic is light. The bucket never holds more than ``burst`` tokens and starts full. So
over any run: ``retries <= burst + ratio * first_attempts + min_per_s * elapsed_s``.
"""

from __future__ import annotations

import time


class RetryBudget:
    __slots__ = ("_stamp", "_tokens", "burst", "min_per_s", "ratio")

    def __init__(self, ratio: float, burst: float, min_per_s: float) -> None:
        self.ratio = ratio
        self.burst = burst
        self.min_per_s = min_per_s
        self._tokens = burst
        self._stamp = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        if self.min_per_s:
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.min_per_s)
        self._stamp = now

    def deposit(self) -> None:
        """Record a first attempt."""
        self._tokens = min(self.burst, self._tokens + self.ratio)

    def try_withdraw(self) -> bool:
        """Take one token for a retry; False (and no retry) when the budget is spent."""
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    @property
    def tokens(self) -> float:
        self._refill()
        return self._tokens
