"""JSON shapes of ``summary.json`` and ``gate.json`` (pure; docs/slo.md documents both)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from reports.errors import obj
from reports.evaluate import FAIL, VERDICTS, Case
from reports.load import RunFrames
from reports.phases import ExperimentPhases
from reports.slis import ScopeSlis, Summary
from reports.verdicts import Outcome

SCHEMA_VERSION = 1


def run_facts(frames: RunFrames) -> dict[str, Any]:
    """The run.json facts a person wants on top of a report."""
    run = frames.run
    agent = obj(run.get("agent"))
    versions = obj(run.get("versions"))
    return {
        "run_id": run.get("run_id") or frames.run_dir.name,
        "target": run.get("target"),
        "profile": run.get("profile"),
        "git_sha": run.get("git_sha"),
        "weakness": agent.get("weakness"),
        "versions": {str(k): str(v) for k, v in versions.items()},
        "started_at": frames.started_at,
        "ended_at": frames.ended_at,
    }


def _scope(scope: ScopeSlis) -> dict[str, Any]:
    out: dict[str, Any] = {
        "start": scope.start,
        "end": scope.end,
        "slis": dict(scope.values),
        "null_reasons": {k: v for k, v in scope.reasons.items() if scope.values.get(k) is None},
        "not_measured": dict(sorted(scope.unmeasured.items())),
    }
    if scope.breakers:
        out["max_breaker_state_by_dependency"] = dict(sorted(scope.breakers.items()))
    return out


def _phases(phases: ExperimentPhases) -> dict[str, Any]:
    journal = phases.journal
    return {
        "phases": list(phases.phase_names) or ["all"],
        "windows": {k: list(v) for k, v in phases.windows().items()},
        "fault_start": phases.fault_start,
        "fault_end": phases.fault_end,
        "journal_status": journal.status if journal else None,
        "deviated": journal.deviated if journal else None,
        "steady_state_before": journal.before[0] if journal and journal.before else None,
        "steady_state_after": journal.after[0] if journal and journal.after else None,
        "notes": list(phases.notes),
    }


def summary_to_dict(summary: Summary, frames: RunFrames) -> dict[str, Any]:
    """``summary.json``: run facts, parameters, and every SLI per scope with null reasons."""
    return {
        "schema_version": SCHEMA_VERSION,
        "run": run_facts(frames),
        "params": dataclasses.asdict(summary.params),
        "notes": list(summary.notes),
        "gaps": summary.coverage.as_dict(),
        "scopes": {
            "run": _scope(summary.run),
            "experiments": {
                name: {
                    **_phases(exp.phases),
                    "gaps": exp.coverage.as_dict(),
                    "scopes": {phase: _scope(s) for phase, s in exp.scopes.items()},
                }
                for name, exp in summary.experiments.items()
            },
        },
    }


def case_to_dict(case: Case) -> dict[str, Any]:
    o = case.objective
    return {
        "objective": o.name,
        "index": o.index,
        "line": o.line,
        "description": o.description,
        "sli": o.sli,
        "op": o.op,
        "threshold": case.threshold,
        "relative": o.relative_text or None,
        "baseline_value": case.baseline,
        "builtin": o.builtin,
        "missing": o.missing,
        "scope": {"experiment": case.experiment, "phase": case.phase},
        "scope_label": case.scope_label,
        "value": case.value,
        "verdict": case.verdict,
        "message": case.message,
    }


def outcome_to_dict(found: Outcome) -> dict[str, Any]:
    """One experiment's journal conclusion (gate.json ``experiments``)."""
    return {
        "experiment": found.experiment,
        "outcome": found.outcome,
        "journal_status": found.status,
        "deviated": found.deviated,
        "breaches": [
            {"when": b.when, "probe": b.probe, "text": b.text, "live": b.live}
            for b in found.breaches
        ],
    }


#: gate.json ``verdict`` per exit code (2: no objective of the SLO file applied).
GATE_VERDICTS = {0: "PASS", 1: FAIL, 2: "EMPTY"}


def gate_to_dict(
    cases: list[Case],
    summary: Summary,
    frames: RunFrames,
    slo_path: str,
    exit_code: int,
    *,
    found: list[Outcome] | None = None,
    baseline_dir: str | None = None,
) -> dict[str, Any]:
    """``gate.json``: the verdict of every objective in every concrete scope."""
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_facts(frames)["run_id"],
        "run_dir": str(frames.run_dir),
        "slo_file": slo_path,
        "baseline_run_dir": baseline_dir,
        "params": dataclasses.asdict(summary.params),
        "verdict": GATE_VERDICTS[exit_code],
        "exit_code": exit_code,
        "counts": {v: sum(c.verdict == v for c in cases) for v in VERDICTS},
        "cases": [case_to_dict(c) for c in cases],
        "experiments": [outcome_to_dict(f) for f in found or []],
    }


def dumps(data: Any) -> str:
    """Strict JSON (NaN is never written: SLIs use null)."""
    return json.dumps(data, indent=2, allow_nan=False, ensure_ascii=False) + "\n"
