"""The built-in objective ``experiment-verdict``: what each Chaos Toolkit journal concluded (pure).

An experiment whose journal says it deviated (its steady-state hypothesis failed after the
method, e.g. the live SLO probe of experiments/activities/slo saw unanswered investigations), or
whose status is ``failed``, ``aborted`` or ``interrupted``, fails ``experiment-verdict`` in the
scope ``<experiment>/all`` — whatever the SLO file's objectives say about its requests. The SLO
file may switch it off or narrow it (``builtin.experiment_verdict``, docs/slo.md). Every probe
breach recorded in a journal is also returned as a line for the gate's output.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reports.catalogue import ALL
from reports.errors import obj
from reports.evaluate import FAIL, NA, PASS, SKIP, Case
from reports.load import ExperimentRecord, RunFrames
from reports.slo import VERDICT_OBJECTIVE, Objective, Scope, VerdictConfig

#: The pseudo-SLI of ``experiment-verdict`` in tables and gate.json (not in summary.json).
VERDICT_SLI = "experiment_ok"
_DESCRIPTION = (
    "Built-in: the Chaos Toolkit journal says the experiment completed and its steady-state "
    "hypothesis held before and after the method (not deviated, failed, aborted, interrupted)."
)


@dataclass(frozen=True)
class Breach:
    """One steady-state probe that was not met: when (before/after/during), which, and why."""

    experiment: str
    when: str
    probe: str
    text: str
    live: bool = True  # from a live SLO probe's ``breached`` list (else a probe not met)

    def line(self) -> str:
        kind = "live SLO breach" if self.live else "hypothesis probe not met"
        return f"{kind}: {self.experiment} ({self.probe}, {self.when} the method): {self.text}"


@dataclass(frozen=True)
class Outcome:
    """What one experiment's journal concluded.

    ``outcome``: ``ok``, ``deviated``, ``failed``, ``aborted``, ``interrupted``, ``missing`` (no
    journal) or ``other`` (a status Chaos Toolkit does not end with, e.g. ``running``).
    """

    experiment: str
    outcome: str
    status: str | None
    deviated: bool | None
    breaches: tuple[Breach, ...] = ()
    journal: str = ""

    def describe(self) -> str:
        """One sentence: what the journal says, with the breaches that made it deviate."""
        where = f"journal {self.journal}"
        if self.outcome == "missing":
            return f"no journal ({self.journal}; run.json status {self.status or 'unknown'})"
        if self.outcome == "ok":
            return f"{where}: completed, hypothesis met before and after the method"
        if self.outcome == "deviated":
            why = "; ".join(f"{b.probe}: {b.text}" for b in self.breaches if b.when != "before")
            return f"{where}: completed but deviated" + (f" ({why})" if why else "")
        if self.outcome == "interrupted" and self.status != "interrupted":
            return f"{where}: status {self.status}, but the suite was interrupted (run.json)"
        return f"{where}: status {self.status or 'missing'}"


def _state_breaches(name: str, when: str, state: Any) -> list[Breach]:
    """Breaches of one steady-state check: the SLO probes' ``breached`` lists, else the probe."""
    found: list[Breach] = []
    for probe in obj(state).get("probes") or []:
        if not isinstance(probe, dict):
            continue
        label = str(obj(probe.get("activity")).get("name", "?"))
        output = probe.get("output")
        listed = obj(output).get("breached")
        if isinstance(listed, list) and listed:
            found += [Breach(name, when, label, str(item)) for item in listed]
        elif probe.get("tolerance_met") is False:
            shown = json.dumps(output, default=str)[:120] if output is not None else "no output"
            found.append(Breach(name, when, label, f"output {shown}", live=False))
    return found


def breaches(name: str, journal: Mapping[str, Any]) -> tuple[Breach, ...]:
    """Every steady-state probe breach a journal records (before, during, after the method)."""
    states = obj(journal.get("steady_states"))
    found = _state_breaches(name, "before", states.get("before"))
    during = states.get("during")
    for state in during if isinstance(during, list) else []:
        found += _state_breaches(name, "during", state)
    found += _state_breaches(name, "after", states.get("after"))
    return tuple(found)


def outcome(record: ExperimentRecord, journal: Mapping[str, Any] | None) -> Outcome:
    """The journal's conclusion; run.json's ``interrupted`` wins (the suite stopped it)."""
    if journal is None:
        kind = record.status if record.status in ("interrupted", "failed", "aborted") else "missing"
        return Outcome(record.name, kind, record.status, record.deviated, (), record.journal)
    status = journal.get("status") if isinstance(journal.get("status"), str) else None
    deviated = journal.get("deviated") if isinstance(journal.get("deviated"), bool) else None
    if record.status == "interrupted":
        kind = "interrupted"
    elif status == "completed":
        kind = "deviated" if deviated else "ok"
    elif status in ("failed", "aborted", "interrupted"):
        kind = status
    else:
        kind = "other"
    found = breaches(record.name, journal)
    return Outcome(record.name, kind, status, deviated, found, record.journal)


def outcomes(frames: RunFrames) -> list[Outcome]:
    """One :class:`Outcome` per experiment of the run, in run order."""
    return [outcome(e, frames.journals.get(e.name)) for e in frames.experiments]


def verdict_objective(config: VerdictConfig) -> Objective:
    """The built-in objective as an :class:`Objective` (so tables, JUnit and JSON list it)."""
    return Objective(
        name=VERDICT_OBJECTIVE,
        sli=VERDICT_SLI,
        op="==",
        threshold=True,
        scope=Scope(experiments=config.experiments, phase=ALL),
        missing=config.missing,
        description=_DESCRIPTION,
        index=-1,
        line=config.line,
        builtin=True,
    )


def _case(o: Objective, config: VerdictConfig, found: Outcome) -> Case:
    name, text = found.experiment, found.describe()
    if found.outcome == "ok":
        return Case(o, name, ALL, True, PASS, text)
    if found.outcome == "missing":
        verdict = FAIL if config.missing == "fail" else SKIP
        return Case(o, name, ALL, None, verdict, f"{text} (missing: {config.missing})")
    if found.outcome in config.fail_on or found.outcome == "other":
        return Case(o, name, ALL, False, FAIL, text)
    tolerated = ", ".join(config.fail_on) or "nothing"
    return Case(o, name, ALL, False, SKIP, f"{text}; not judged (fail_on: {tolerated})")


def verdict_cases(found: list[Outcome], config: VerdictConfig) -> list[Case]:
    """``experiment-verdict`` per experiment in its scope; none when switched off."""
    if not config.enabled:
        return []
    o = verdict_objective(config)
    by_name = {f.experiment: f for f in found}
    wanted = list(by_name) if config.experiments == ("*",) else list(config.experiments)
    if not wanted:
        return [Case(o, "*", ALL, None, NA, "no experiment in this run")]
    cases = []
    for name in wanted:
        if name not in by_name:
            cases.append(Case(o, name, ALL, None, NA, f"experiment {name!r} is not in this run"))
        else:
            cases.append(_case(o, config, by_name[name]))
    return cases


def breach_lines(found: list[Outcome]) -> list[str]:
    """``live SLO breach: <experiment> (<probe>, after the method): <breach>`` for each one."""
    return [b.line() for f in found for b in f.breaches]
