"""Load shedding: refuse new investigations before this worker is overloaded.

A request is admitted while fewer than ``max_in_flight`` investigations run in this worker and
the write-behind buffer still has a slot for every investigation in progress plus this one
(so a record accepted now can always be kept, even if Redis is down). Refusals answer 503 with
``Retry-After`` and count ``agent_shed_total``.

Readiness fails only while in-flight work is at the limit (:attr:`Admission.overloaded`), not
when the buffer is full: a full buffer means Redis is down, which is shared by every replica —
failing readiness for it would empty the Service, turning explicit 503 + Retry-After answers
into connection errors.
"""

from __future__ import annotations

from target_agent.agent.metrics import Metrics
from target_agent.agent.resilience.fallback import WriteBehindBuffer


class Admission:
    def __init__(self, max_in_flight: int, buffer: WriteBehindBuffer, metrics: Metrics) -> None:
        self.max_in_flight = max_in_flight
        self.buffer = buffer
        self.metrics = metrics
        self.in_flight = 0

    @property
    def overloaded(self) -> bool:
        return self.in_flight >= self.max_in_flight

    def refusal(self) -> str | None:
        """Why a new investigation would be refused now, or None if it may start."""
        if self.overloaded:
            return (
                f"overloaded: {self.in_flight} investigations in flight (max {self.max_in_flight})"
            )
        if not self.buffer.has_room(self.in_flight):
            return (
                f"record store unavailable and write-behind buffer full "
                f"({len(self.buffer)}/{self.buffer.max_records})"
            )
        return None

    def enter(self) -> None:
        self.in_flight += 1
        self.metrics.in_flight.inc()

    def leave(self) -> None:
        self.in_flight -= 1
        self.metrics.in_flight.dec()

    def shed(self) -> None:
        self.metrics.shed.inc()
        self.metrics.requests.labels("shed").inc()
