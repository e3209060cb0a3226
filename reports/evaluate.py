"""``evaluate(summary, slo) -> cases``: one verdict per objective and concrete scope (pure).

Verdicts: ``PASS``, ``FAIL``, ``N/A`` (the scope is not in this run: an experiment that did not
run; or the target could not measure the SLI: an absent metric, a figure it cannot count, see
reports.coverage) and ``SKIP`` (the value is missing and the objective says ``missing: skip``).
A missing value with ``missing: fail`` (the default) is a ``FAIL``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from reports.catalogue import ALL, NEEDS_FAULT, SLIS
from reports.slis import Summary, Value
from reports.slo import Objective, Slo, require_baseline

PASS, FAIL, NA, SKIP = "PASS", "FAIL", "N/A", "SKIP"
VERDICTS = (PASS, FAIL, NA, SKIP)
_REL, _ABS = 1e-9, 1e-12


@dataclass(frozen=True)
class Case:
    """One objective evaluated in one concrete scope."""

    objective: Objective
    experiment: str | None
    phase: str | None
    value: Value
    verdict: str
    message: str
    limit: float | bool | None = None  # the threshold applied (a relative one: derived)
    baseline: Value = None  # a relative objective: the SLI in the baseline run's same scope

    @property
    def scope_label(self) -> str:
        return "run" if self.experiment is None else f"{self.experiment}/{self.phase}"

    @property
    def threshold(self) -> float | bool | None:
        """The threshold this case was judged against (derived for a relative objective)."""
        return self.objective.threshold if self.objective.relative is None else self.limit

    @property
    def target(self) -> str:
        o = self.objective
        if o.relative is None:
            return f"{o.op} {fmt(o.threshold)}"
        if self.limit is None:
            return f"{o.op} {o.relative_text} of baseline (no baseline value)"
        return f"{o.op} {fmt(self.limit)} (baseline {fmt(self.baseline)} {o.relative_text})"


def fmt(value: Value) -> str:
    """A value as shown in tables and messages (6 significant digits, ``null`` for None)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return f"{value:.6g}"


def compare(value: float | bool, op: str, threshold: float | bool) -> bool:
    """``value op threshold``; equality is within 1e-9 relative (float sums are not exact)."""
    if isinstance(value, bool) or isinstance(threshold, bool):
        equal = bool(value) == bool(threshold)
        return equal if op == "==" else not equal if op == "!=" else False
    a, b = float(value), float(threshold)
    equal = math.isclose(a, b, rel_tol=_REL, abs_tol=_ABS)
    return {
        "<": a < b and not equal,
        "<=": a < b or equal,
        ">": a > b and not equal,
        ">=": a > b or equal,
        "==": equal,
        "!=": not equal,
    }[op]


def _phases(summary: Summary, experiment: str, objective: Objective) -> list[str]:
    if objective.scope.phase != "*":
        return [objective.scope.phase]
    allowed = SLIS[objective.sli].scopes
    exp = summary.experiments[experiment]
    present = exp.phases.phase_names or (ALL,)
    return [p for p in present if p in allowed] or [ALL]


def _limit(
    baseline: Summary | None, o: Objective, experiment: str | None, phase: str | None
) -> tuple[float | bool | None, Value, str]:
    """``(threshold, baseline value, why missing)``: derived from the baseline when relative."""
    if o.relative is None:
        return o.threshold, None, ""
    label = "run" if experiment is None else f"{experiment}/{phase}"
    scope = baseline.scope(experiment, phase) if baseline is not None else None
    if scope is None:
        return None, None, f"the baseline run has no scope {label}"
    base = scope.values.get(o.sli)
    if base is None or isinstance(base, bool):
        why = scope.reasons.get(o.sli) or scope.unmeasured.get(o.sli) or "null"
        return None, None, f"{o.sli} missing in {label} of the baseline run: {why}"
    return float(base) * (1.0 + o.relative), base, ""


def _case(
    summary: Summary,
    o: Objective,
    experiment: str | None,
    phase: str | None,
    baseline: Summary | None = None,
) -> Case:
    scope = summary.scope(experiment, phase)
    label = "run" if experiment is None else f"{experiment}/{phase}"
    phases = summary.experiments[experiment].phases if experiment is not None else None
    if scope is None:
        assert phases is not None
        notes = "; ".join(phases.notes)
        value, reason = None, f"experiment has no {phase} phase ({notes or 'no journal'})"
    else:
        value, reason = scope.values.get(o.sli), scope.reasons.get(o.sli, "")
    fault_free = value is None and phases is not None and phases.fault_free
    if fault_free and (scope is None or o.sli in NEEDS_FAULT):
        message = f"{label}: fault-free experiment (its method ran no activity)"
        return Case(o, experiment, phase, None, NA, message)
    unmeasured = scope.unmeasured.get(o.sli) if scope is not None and value is None else None
    if unmeasured:
        return Case(o, experiment, phase, None, NA, f"{o.sli} in {label}: {unmeasured}")
    limit, base, missing_base = _limit(baseline, o, experiment, phase)
    judged = Case(o, experiment, phase, value, PASS, "", limit, base)
    target = judged.target
    if value is None or limit is None:
        verdict = FAIL if o.missing == "fail" else SKIP
        why = f"{o.sli} missing in {label}: {reason}" if value is None else missing_base
        message = f"{why} (missing: {o.missing})"
    elif compare(value, o.op, limit):
        verdict, message = PASS, f"{o.sli} = {fmt(value)} in {label}, objective {target}"
    else:
        verdict = FAIL
        message = f"{o.sli} = {fmt(value)} in {label}, expected {target}"
    return dataclasses.replace(judged, verdict=verdict, message=message)


def evaluate(summary: Summary, slo: Slo, baseline: Summary | None = None) -> list[Case]:
    """Expand every objective's scope over this run and judge each concrete scope.

    ``baseline``: the SLIs of a baseline run, required when the file has relative objectives
    (``threshold: "+10%"``); each is judged against its SLI in the baseline's same scope.
    """
    require_baseline(slo, baseline)
    cases: list[Case] = []
    names = list(summary.experiments)
    for o in slo.objectives:
        if o.scope.experiments is None:
            cases.append(_case(summary, o, None, None, baseline))
            continue
        wanted = names if o.scope.experiments == ("*",) else list(o.scope.experiments)
        if not wanted:
            message = "no experiment in this run"
            cases.append(Case(o, "*", o.scope.phase, None, NA, message))
        for experiment in wanted:
            if experiment not in summary.experiments:
                message = f"experiment {experiment!r} is not in this run"
                cases.append(Case(o, experiment, o.scope.phase, None, NA, message))
                continue
            for phase in _phases(summary, experiment, o):
                cases.append(_case(summary, o, experiment, phase, baseline))
    return cases


def exit_code(cases: list[Case]) -> int:
    """0 when nothing failed, 1 when any case failed."""
    return 1 if any(c.verdict == FAIL for c in cases) else 0
