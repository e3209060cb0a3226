"""A small closed-loop load on the helpdesk through its declarative profile, and phase counts.

Not Locust: a few threads, each asking the cases in turn (``tests.examples.support.ask``, the
profile's request and judge) and recording when each request started and ended and its
outcome. ``phase_counts`` splits the samples by a fault window read from a Chaos Toolkit
journal (``fault_window``): a request belongs to a phase only when it started *and* ended in it;
one that straddles a boundary is counted apart, so a boundary never blurs a phase.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from loadtests.declarative import DeclarativeProfile
from stampede.cases import Case
from tests.examples.support import ask

PHASES = ("baseline", "fault", "recovery", "straddling")


@dataclass(frozen=True)
class Sample:
    """One request: start and end (epoch s), its outcome and the judge's reason."""

    start: float
    end: float
    outcome: str
    reason: str


@dataclass
class ClosedLoop:
    """``users`` threads asking ``cases`` round-robin at ``url`` until ``stop()``."""

    url: str
    profile: DeclarativeProfile
    cases: Sequence[Case]
    users: int = 2
    timeout_s: float = 10.0
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        for user in range(self.users):
            thread = threading.Thread(target=self._run, args=(user,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> list[Sample]:
        """Stop every user (each finishes its request in flight) and return the samples."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.timeout_s + 5)
            if thread.is_alive():
                raise RuntimeError(f"load user {thread.name} still running after stop()")
        with self._lock:
            return sorted(self.samples, key=lambda s: s.start)

    def _run(self, user: int) -> None:
        with httpx.Client(trust_env=False, timeout=self.timeout_s) as client:
            turn = user
            while not self._stop.is_set():
                case = self.cases[turn % len(self.cases)]
                turn += 1
                started = time.time()
                verdict = ask(client, self.url, self.profile, case, key=f"u{user}-{turn}")
                sample = Sample(started, time.time(), str(verdict.outcome), verdict.reason)
                with self._lock:
                    self.samples.append(sample)


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def fault_window(journal: dict[str, Any]) -> tuple[float, float]:
    """(start of the method's first activity, end of its last) in epoch s: the fault phase."""
    method = journal.get("run") or []
    if not method:
        raise ValueError(f"journal has no method activity (status {journal.get('status')!r})")
    return _epoch(method[0]["start"]), _epoch(method[-1]["end"])


def phase_of(sample: Sample, window: tuple[float, float]) -> str:
    """baseline / fault / recovery when the request lies wholly in one, else straddling."""
    start, end = window
    if sample.end <= start:
        return "baseline"
    if sample.start >= start and sample.end <= end:
        return "fault"
    if sample.start >= end:
        return "recovery"
    return "straddling"


def phase_counts(samples: Sequence[Sample], window: tuple[float, float]) -> dict[str, Counter[str]]:
    """Outcome counts per phase (``PHASES``)."""
    counts: dict[str, Counter[str]] = {phase: Counter() for phase in PHASES}
    for sample in samples:
        counts[phase_of(sample, window)][sample.outcome] += 1
    return counts


def share(counts: Counter[str], *outcomes: str) -> float:
    """The share of ``outcomes`` among the counted requests (0 when none were counted)."""
    total = sum(counts.values())
    return sum(counts[o] for o in outcomes) / total if total else 0.0
