"""Timeouts: the overall request deadline and the per-attempt timeout derived from it."""

from __future__ import annotations

import time

#: An attempt is not started with less time than this left before the deadline.
MIN_ATTEMPT_S = 0.01


class Deadline:
    """A point in (monotonic) time by which an investigation must have answered."""

    __slots__ = ("at",)

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def attempt_timeout(self, per_attempt_s: float) -> float:
        """The timeout of the next attempt: its own limit, cut to what the deadline leaves."""
        return min(per_attempt_s, self.remaining())

    def shortened(self, reserve_s: float) -> Deadline:
        """A deadline that keeps ``reserve_s`` (at most half of what is left) for a later stage."""
        now = time.monotonic()
        child = Deadline(0.0)
        child.at = self.at - min(reserve_s, max(0.0, self.at - now) / 2)
        return child
