"""Fallbacks: what the agent answers with when a dependency gives no result.

* ``tool:<name>`` -> the last good result of that tool for that service from the Redis result
  cache, marked stale (listed in ``stale_evidence``); else the evidence is missing.
* ``llm`` -> planner: the alert type's playbook (the runbook a human would follow); reasoner:
  no reasoning at all, a ``degraded`` answer listing the missing evidence.
* ``redis`` -> :class:`WriteBehindBuffer`: records wait in this worker until Redis is back.

The buffer is bounded without ever dropping an accepted record: admission (``shedding.py``)
refuses new investigations while ``depth + in_flight`` would reach the bound, so every
investigation in progress already owns a slot when it finishes.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from target_agent.vocabulary import PLAYBOOK


@dataclass(frozen=True)
class PendingRecord:
    """An investigation record that Redis has not stored yet."""

    investigation_id: str
    payload: str  # the record as JSON
    idempotency_key: str | None


class WriteBehindBuffer:
    """Records waiting for Redis, in arrival order; looked up by id for ``GET``."""

    def __init__(self, max_records: int) -> None:
        self.max_records = max_records
        self._records: OrderedDict[str, PendingRecord] = OrderedDict()

    def __len__(self) -> int:
        return len(self._records)

    def has_room(self, reserved: int) -> bool:
        """True when one more investigation may start while ``reserved`` others are running."""
        return len(self._records) + reserved < self.max_records

    def put(self, record: PendingRecord) -> None:
        """Keep ``record``; never drops one (the bound is enforced at admission)."""
        self._records[record.investigation_id] = record

    def get(self, investigation_id: str) -> PendingRecord | None:
        return self._records.get(investigation_id)

    def oldest(self, n: int) -> list[PendingRecord]:
        batch = []
        for record in self._records.values():
            batch.append(record)
            if len(batch) >= n:
                break
        return batch

    def remove(self, records: list[PendingRecord]) -> None:
        for record in records:
            self._records.pop(record.investigation_id, None)


def playbook_plan(alert_type: str) -> tuple[str, ...]:
    """The tools the playbook lists for ``alert_type`` (the planner's fallback)."""
    return PLAYBOOK.get(alert_type, ())
