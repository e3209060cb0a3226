"""run.json as typed records: what the suite fills in, and exactly the JSON it writes.

Each part of a record is a small dataclass whose ``as_dict()`` gives the JSON documented in
docs/contracts.md ("Run directory"); ``reports.load`` and ``stampede.detect`` read that JSON.
A part that has not happened yet (Locust never started, the probe never ran) serialises to what
run.json has always said then (``{}``, ``{"lost_investigations": null}``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stampede.rundir.safe import write_atomic


@dataclass(frozen=True)
class LocustResult:
    """How Locust ended in one experiment (``experiments[].locust``)."""

    exit_code: int
    requests: int | None  # what Locust itself counted; None when its stats are unreadable
    log: str  # relative to the run directory

    def as_dict(self) -> dict[str, Any]:
        return {"exit_code": self.exit_code, "requests": self.requests, "log": self.log}


@dataclass
class ChaosResult:
    """How the chaos run (``chaos --no-version-check run``) ended and what the target healed.

    Written as ``experiments[].chaos``.
    """

    exit_code: int | None = None
    log: str | None = None  # None: chaos never started
    healed: list[str] | None = None  # None: the clean-up has not run yet

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.log is not None:
            out.update(exit_code=self.exit_code, log=self.log)
        if self.healed is not None:
            out["healed"] = list(self.healed)
        return out


@dataclass(frozen=True)
class SourceStats:
    """One metrics source of a sampler (``experiments[].sampler.sources[]``)."""

    name: str  # "agent", "proxy"
    url: str | None
    metric_map: str  # the map's name: "reference", a profile's path
    scrapes: int
    failures: int
    last_error: str | None
    absent: tuple[str, ...]  # mapped metrics whose series this source never exposed

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.url,
            "metric_map": self.metric_map,
            "scrapes": self.scrapes,
            "failures": self.failures,
            "last_error": self.last_error,
            "absent": list(self.absent),
        }


@dataclass(frozen=True)
class SamplerStats:
    """What the /metrics sampler did during one experiment (``experiments[].sampler``).

    ``absent``: canonical metrics that have no row because no source exposed their series
    (or there was no source); ``unmapped``: canonical metrics no source's map names. Neither is
    ever written as 0.
    """

    scrapes: int
    failures: int
    rows: int
    last_error: str | None
    absent: tuple[str, ...] = ()
    unmapped: tuple[str, ...] = ()
    sources: tuple[SourceStats, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "scrapes": self.scrapes,
            "failures": self.failures,
            "rows": self.rows,
            "last_error": self.last_error,
            "absent": list(self.absent),
            "unmapped": list(self.unmapped),
            "sources": [source.as_dict() for source in self.sources],
        }


@dataclass(frozen=True)
class LostInvestigation:
    """An id the agent answered 200 for and later did not know (404), with its POST time."""

    id: str
    sent_at: float

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "sent_at": self.sent_at}


@dataclass(frozen=True)
class ProbeChecks:
    """The lost-investigation check of one experiment (``experiments[].checks``).

    ``sampled`` is None when the probe did not verify anything (not run yet, or skipped: then
    ``method`` says why); ``lost_investigations`` is None when nothing was sampled.
    """

    lost_investigations: int | None = None
    sampled: int | None = None
    probe_requests: int = 0
    unverified: int = 0
    lost: tuple[LostInvestigation, ...] = ()
    method: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"lost_investigations": self.lost_investigations}
        if self.sampled is not None:
            out.update(
                sampled=self.sampled,
                probe_requests=self.probe_requests,
                unverified=self.unverified,
                lost=[item.as_dict() for item in self.lost],
            )
        if self.method is not None:
            out["method"] = self.method
        return out


@dataclass
class ExperimentRecord:
    """One experiment of a run, as it lands in ``run.json["experiments"]``.

    ``status`` is the journal's status (``completed``, ``failed``, ``aborted``,
    ``interrupted``) or, when there is no journal, the suite's own: ``not-run``, ``interrupted``,
    ``error``.
    """

    name: str
    file: str
    journal: str
    load: dict[str, Any]
    started_at: float | None = None
    ended_at: float | None = None
    status: str = "not-run"
    deviated: bool | None = None
    locust: LocustResult | None = None
    chaos: ChaosResult = field(default_factory=ChaosResult)
    sampler: SamplerStats | None = None
    checks: ProbeChecks = field(default_factory=ProbeChecks)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "file": self.file,
            "journal": self.journal,
            "load": dict(self.load),
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "status": self.status,
            "deviated": self.deviated,
            "locust": self.locust.as_dict() if self.locust else {},
            "chaos": self.chaos.as_dict(),
            "sampler": self.sampler.as_dict() if self.sampler else {},
            "checks": self.checks.as_dict(),
            "errors": list(self.errors),
        }


@dataclass
class AgentRecord:
    """The agent under test (``agent``): its weakness, and its URL once the target is up."""

    weakness: str | None = None
    url: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"weakness": self.weakness}
        if self.url is not None:
            out["url"] = self.url
        return out


@dataclass
class TargetRecord:
    """What ``up`` did and what the target reported (``stack``), and whether it was stopped."""

    action: str
    details: dict[str, Any] = field(default_factory=dict)
    down_after: bool | None = None  # None: not decided yet
    capabilities: dict[str, bool] | None = None  # the target's Capabilities
    # What the target cannot count (replicas, workers_alive, lost_investigations) -> why:
    # these figures are absent from the run, never 0.
    not_measured: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.action, **self.details}
        if self.capabilities is not None:
            out["capabilities"] = dict(self.capabilities)
            out["not_measured"] = dict(self.not_measured)
        if self.down_after is not None:
            out["down_after"] = self.down_after
        return out


@dataclass(frozen=True)
class RequestsSummary:
    """The merged requests.csv (``requests``): rows, inputs, torn rows, Locust's own total."""

    rows: int
    files: tuple[str, ...]
    dropped: int
    locust_total: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "files": list(self.files),
            "dropped": self.dropped,
            "locust_total": self.locust_total,
        }


@dataclass
class RunRecord:
    """Everything ``run.json`` holds; ``write_run_json`` serialises it.

    ``notes`` are things a reader of the run should know that are not errors (e.g. torn rows
    dropped from requests.csv).
    """

    run_id: str
    target: str
    profile: str
    config: dict[str, Any]
    started_at: float
    git_sha: str = "unknown"
    versions: dict[str, str | None] = field(default_factory=dict)
    ended_at: float | None = None
    partial: bool = False
    agent: AgentRecord = field(default_factory=AgentRecord)
    stack: TargetRecord | None = None
    experiments: list[ExperimentRecord] = field(default_factory=list)
    requests: RequestsSummary | None = None
    harness_errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "target": self.target,
            "profile": self.profile,
            "config": self.config,
            "started_at": self.started_at,
            "git_sha": self.git_sha,
            "versions": dict(self.versions),
            "ended_at": self.ended_at,
            "partial": self.partial,
            "agent": self.agent.as_dict(),
            "stack": self.stack.as_dict() if self.stack else {},
            "experiments": [exp.as_dict() for exp in self.experiments],
            "requests": self.requests.as_dict() if self.requests else {},
            "harness_errors": list(self.harness_errors),
            "notes": list(self.notes),
        }


def write_run_json(run_dir: Path, record: RunRecord) -> Path:
    """Write ``run.json`` atomically (a reader never sees half a file; a link is replaced)."""
    return write_atomic(run_dir / "run.json", json.dumps(record.as_dict(), indent=2) + "\n")
