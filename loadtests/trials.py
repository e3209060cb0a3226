"""Trial groups (pass^k): a user draws a case, then asks it K times in a row.

K is the case's own ``repeat``, else the run's ``--stampede-repeat`` (default 1: every
investigation is a group of one). Each ask is an :class:`~loadtests.profile.Attempt` numbered
1..K under one group id, ``<process>-w<worker>-u<user>-<n>``: the process token (random per
Locust process) keeps ids of separate Locust runs of one suite run apart. Pure: no Locust.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from loadtests.profile import Attempt
from stampede.cases import Case

__all__ = ["PROCESS_TOKEN", "TrialPlan"]

#: Random per process, so two Locust processes (experiments, workers) never share a group id.
PROCESS_TOKEN = uuid.uuid4().hex[:6]


class TrialPlan:
    """The asks of one user: the current group's case until its K attempts are handed out."""

    def __init__(self, pick: Callable[[], Case], repeat: int, prefix: str) -> None:
        if repeat < 1:
            raise ValueError(f"repeat must be >= 1, got {repeat}")
        self._pick = pick
        self.repeat = repeat
        self.prefix = prefix
        self.groups = 0
        self._case: Case | None = None
        self._trial = ""
        self._k = 0
        self._next = 1

    def next(self) -> tuple[Case, Attempt]:
        """The case to ask now and its attempt; draws a new case when the group is complete."""
        if self._case is None or self._next > self._k:
            self._case = self._pick()
            self._k = self._case.repeat or self.repeat
            self.groups += 1
            self._trial = f"{self.prefix}-{self.groups}"
            self._next = 1
        attempt = Attempt(self._case.id, self._trial, self._next, self._k)
        self._next += 1
        return self._case, attempt
