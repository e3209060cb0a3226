"""Cut each experiment into phases from its Chaos Toolkit journal (pure).

An experiment's window is run.json's ``[started_at, ended_at]``. With a journal whose ``run``
list (the method activities) is not empty:

    baseline  [started_at,  fault_start)   fault_start = earliest ``start`` in journal ``run``
    fault     [fault_start, fault_end)     fault_end   = latest ``end`` in journal ``run``
    recovery  [fault_end,   ended_at]

Intervals are half-open, so a request exactly at ``fault_start`` is in ``fault`` and one exactly
at ``fault_end`` is in ``recovery``; one exactly at ``ended_at`` is still in ``recovery``.
Without a journal (or with one that ran no method activity) the experiment has one phase,
``all``, and a note says why. A *completed* journal with no method activity is a fault-free
experiment by design (``fault_free``): objectives on its fault phase are not applicable.

Journal timestamps are ISO-8601; naive ones are read as UTC (what docs/contracts.md says),
aware ones (chaostoolkit-lib 1.44 writes ``+00:00``) are converted.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reports.catalogue import ALL, PHASES
from reports.errors import ReportsError, obj
from reports.load import ExperimentRecord
from stampede.contract import Phase


@dataclass(frozen=True)
class Probe:
    """One steady-state probe result from the journal."""

    name: str
    status: str
    tolerance_met: bool | None
    output: str


@dataclass(frozen=True)
class Activity:
    """One method or rollback activity run from the journal (times epoch s)."""

    name: str
    type: str
    status: str
    start: float | None
    end: float | None


@dataclass(frozen=True)
class JournalFacts:
    """What the report shows from a journal."""

    status: str | None
    deviated: bool | None
    title: str
    hypothesis: str
    before: tuple[bool | None, tuple[Probe, ...]] | None
    after: tuple[bool | None, tuple[Probe, ...]] | None
    method: tuple[Activity, ...]
    rollbacks: tuple[Activity, ...]


@dataclass(frozen=True)
class ExperimentPhases:
    """An experiment's window, its fault boundaries (None without a journal) and notes."""

    name: str
    start: float
    end: float
    fault_start: float | None = None
    fault_end: float | None = None
    journal: JournalFacts | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    fault_free: bool = False

    @property
    def has_phases(self) -> bool:
        return self.fault_start is not None and self.fault_end is not None

    @property
    def phase_names(self) -> tuple[str, ...]:
        """``baseline, fault, recovery`` when the journal gives them, else ``()``."""
        return PHASES if self.has_phases else ()

    def windows(self) -> dict[str, tuple[float, float]]:
        """``{phase: (start, end)}`` including ``all``; durations may be zero."""
        out = {ALL: (self.start, self.end)}
        if self.fault_start is not None and self.fault_end is not None:
            out[Phase.BASELINE] = (self.start, self.fault_start)
            out[Phase.FAULT] = (self.fault_start, self.fault_end)
            out[Phase.RECOVERY] = (self.fault_end, self.end)
        return out

    def phase_of(self, ts: pd.Series, ends: pd.Series | None = None) -> pd.Series:
        """The phase of each request (``all`` without phases); NaN outside the window.

        ``ts`` are start times; ``ends`` (start + latency) are optional. A request whose span
        touches the fault window belongs to ``fault``: one started just before the fault and
        cut by it (a killed worker's connection) was exposed to the fault, not to the baseline.
        Without ``ends`` a request is a point at its start. Categorical (categories ``all`` and
        the phases): comparing 10M labels is then comparing small integer codes.
        """
        start = ts.to_numpy(dtype=float)
        end = start if ends is None else ends.to_numpy(dtype=float)
        end = np.where(end >= start, end, start)
        inside = (start >= self.start) & (start <= self.end)
        codes = np.full(len(start), -1, dtype=np.int8)
        if self.fault_start is None or self.fault_end is None:
            codes[inside] = 0
        else:
            codes[inside & (end < self.fault_start)] = 1
            codes[inside & (start < self.fault_end) & (end >= self.fault_start)] = 2
            codes[inside & (start >= self.fault_end)] = 3
        categories = [ALL, *(p.value for p in Phase)]
        return pd.Series(pd.Categorical.from_codes(codes, categories), index=ts.index)


def parse_time(value: Any, path: Path | str, what: str) -> float:
    """ISO-8601 (naive = UTC) -> epoch seconds; anything else raises ReportsError."""
    if not isinstance(value, str):
        raise ReportsError(f"{path}: {what}: expected an ISO-8601 timestamp, got {value!r}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ReportsError(f"{path}: {what}: {value!r} is not an ISO-8601 timestamp") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _probes(state: Any) -> tuple[bool | None, tuple[Probe, ...]] | None:
    if not isinstance(state, dict):
        return None
    met = state.get("steady_state_met")
    probes = []
    for run in state.get("probes") or []:
        if not isinstance(run, dict):
            continue
        activity = obj(run.get("activity"))
        output = run.get("output")
        probes.append(
            Probe(
                name=str(activity.get("name", "?")),
                status=str(run.get("status", "?")),
                tolerance_met=run.get("tolerance_met")
                if isinstance(run.get("tolerance_met"), bool)
                else None,
                output="" if output is None else str(output)[:200],
            )
        )
    return (met if isinstance(met, bool) else None, tuple(probes))


def _activities(runs: Any, path: Path | str, key: str) -> tuple[Activity, ...]:
    if runs is None:
        return ()
    if not isinstance(runs, list):
        raise ReportsError(f"{path}: {key}: expected a list, got {type(runs).__name__}")
    out = []
    for i, run in enumerate(runs):
        if not isinstance(run, dict):
            raise ReportsError(f"{path}: {key}[{i}]: expected an object")
        activity = obj(run.get("activity"))
        start = run.get("start")
        end = run.get("end")
        out.append(
            Activity(
                name=str(activity.get("name", "?")),
                type=str(activity.get("type", "?")),
                status=str(run.get("status", "?")),
                start=None if start is None else parse_time(start, path, f"{key}[{i}].start"),
                end=None if end is None else parse_time(end, path, f"{key}[{i}].end"),
            )
        )
    return tuple(out)


def journal_facts(journal: dict[str, Any], path: Path | str) -> JournalFacts:
    """The parts of a Chaos Toolkit journal the report and the phases need."""
    experiment = obj(journal.get("experiment"))
    hypothesis = experiment.get("steady-state-hypothesis")
    states = obj(journal.get("steady_states"))
    deviated = journal.get("deviated")
    return JournalFacts(
        status=journal.get("status") if isinstance(journal.get("status"), str) else None,
        deviated=deviated if isinstance(deviated, bool) else None,
        title=str(experiment.get("title", "")),
        hypothesis=str(hypothesis.get("title", "")) if isinstance(hypothesis, dict) else "",
        before=_probes(states.get("before")),
        after=_probes(states.get("after")),
        method=_activities(journal.get("run"), path, "run"),
        rollbacks=_activities(journal.get("rollbacks"), path, "rollbacks"),
    )


def experiment_phases(
    record: ExperimentRecord, journal: dict[str, Any] | None, path: Path | str
) -> ExperimentPhases:
    """Phases of one experiment from its run.json record and journal (None when missing)."""
    phases = _phases(record, journal, path)
    if not record.notes:
        return phases
    return dataclasses.replace(phases, notes=(*record.notes, *phases.notes))


def _phases(
    record: ExperimentRecord, journal: dict[str, Any] | None, path: Path | str
) -> ExperimentPhases:
    if journal is None:
        return ExperimentPhases(
            record.name,
            record.started_at,
            record.ended_at,
            notes=(f"journal {record.journal} missing: one phase 'all' for the whole window",),
        )
    facts = journal_facts(journal, path)
    starts = [a.start for a in facts.method if a.start is not None]
    ends = [a.end if a.end is not None else a.start for a in facts.method]
    ends_known = [e for e in ends if e is not None]
    if not starts:
        fault_free = facts.status == "completed"
        why = "a fault-free experiment" if fault_free else "not a completed run"
        return ExperimentPhases(
            record.name,
            record.started_at,
            record.ended_at,
            journal=facts,
            notes=(
                f"journal {record.journal} has no method activity (status "
                f"{facts.status or 'unknown'}, {why}): one phase 'all' for the whole window",
            ),
            fault_free=fault_free,
        )
    notes = []
    fault_start = min(starts)
    fault_end = max([*ends_known, fault_start])
    if any(a.end is None for a in facts.method):
        notes.append("a method activity has no end time: fault ends at the last known time")
    clipped_start = min(max(fault_start, record.started_at), record.ended_at)
    clipped_end = min(max(fault_end, clipped_start), record.ended_at)
    if (clipped_start, clipped_end) != (fault_start, fault_end):
        notes.append("the journal's method runs outside run.json's window: fault clipped to it")
    return ExperimentPhases(
        record.name,
        record.started_at,
        record.ended_at,
        fault_start=clipped_start,
        fault_end=clipped_end,
        journal=facts,
        notes=tuple(notes),
    )
