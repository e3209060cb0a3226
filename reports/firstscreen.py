"""The report's first screen: did it pass, what broke, where (pure: gate cases in, dicts out).

From the gate's cases (``gate.json`` ``cases`` or ``serialize.case_to_dict``; only the keys
``objective``, ``scope``, ``verdict``, ``value``, ``message`` are required, the rest is used when
present, so fields the gate gains later render without changes here):

* a matrix, one row per objective and one column per experiment (plus ``run``): each cell is
  the worst verdict of that objective's cases in that column, its title lists every case
  (scope, value, verdict, message) and it links to the experiment's section;
* the failed cases in words: ``tool-hang: p95 4.1 s in fault, objective < 3 s``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from reports.catalogue import SLIS
from reports.evaluate import FAIL, NA, PASS, SKIP, fmt

RUN = "run"
# Worst first: the cell shows the worst verdict among its cases.
_SEVERITY = {FAIL: 3, SKIP: 2, PASS: 1, NA: 0}
_SHORT = {
    "latency_p50_ms": "p50",
    "latency_p95_ms": "p95",
    "latency_p99_ms": "p99",
    "success_ratio": "success",
    "error_ratio": "errors",
    "wrong_ratio": "wrong answers",
    "shed_ratio": "shed",
    "retries_per_request": "retries/request",
    "recovery_time_s": "recovery time",
    "cost_amplification": "cost amplification",
}


def short_value(value: Any, unit: str) -> str:
    """A value in the fewest characters a person reads at a glance (4.1 s, 97.2%, 0.35)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, int | float):
        return str(value)
    v = float(value)
    if unit == "ms":
        return f"{v / 1000:.3g} s" if abs(v) >= 1000 else f"{v:.0f} ms"
    if unit == "ratio":
        return f"{v * 100:.4g}%"
    if unit == "s":
        return f"{v:.3g} s"
    if unit == "x":
        return f"{v:.3g}×"  # noqa: RUF001
    return f"{v:.3g}" if not v.is_integer() else fmt(v)


def _column(case: Mapping[str, Any]) -> str:
    scope = case.get("scope") or {}
    experiment = scope.get("experiment") if isinstance(scope, Mapping) else None
    return RUN if experiment in (None, "*") else str(experiment)


def _phase(case: Mapping[str, Any]) -> str | None:
    scope = case.get("scope") or {}
    phase = scope.get("phase") if isinstance(scope, Mapping) else None
    return None if phase in (None, "*") else str(phase)


def _target(case: Mapping[str, Any], unit: str) -> str:
    op, threshold = case.get("op"), case.get("threshold")
    if op is None:
        return ""
    text = f"{op} {short_value(threshold, unit)}"
    relative = case.get("relative")
    if relative:
        text += f" ({relative} of the baseline's {short_value(case.get('baseline_value'), unit)})"
    return text


def failure_text(case: Mapping[str, Any]) -> str:
    """One failed case in words: ``tool-hang: p95 4.1 s in fault, objective < 3 s``.

    A case without a value (missing data) or on something that is not a known SLI says the
    gate's own message instead of inventing a number.
    """
    column, phase = _column(case), _phase(case)
    where = "the whole run" if column == RUN else column
    sli = str(case.get("sli") or "")
    value = case.get("value")
    spec = SLIS.get(sli)
    if spec is None or value is None or case.get("threshold") is None:
        return f"{where}: {case.get('objective', '?')}: {case.get('message', '')}"
    name = _SHORT.get(sli, sli.replace("_", " "))
    scope = f" in {phase}" if phase and phase != "all" else ""
    target = _target(case, spec.unit)
    return f"{where}: {name} {short_value(value, spec.unit)}{scope}, objective {target}"


def _cell_title(cases: Sequence[Mapping[str, Any]]) -> str:
    lines = []
    for c in cases:
        spec = SLIS.get(str(c.get("sli") or ""))
        value = short_value(c.get("value"), spec.unit if spec else "")
        lines.append(f"{c.get('scope_label', _column(c))}: {value} — {c['verdict']}")
        if c.get("message"):
            lines.append(f"  {c['message']}")
    return "\n".join(lines)


def matrix(
    cases: Sequence[Mapping[str, Any]],
    experiments: Sequence[str],
    anchor: Callable[[str], str],
) -> dict[str, Any]:
    """Objective x experiment cells: ``{"columns": [...], "rows": [{"objective", "cells"}]}``.

    ``columns`` are the run's experiments in run order, then ``run`` when an objective is on
    the whole run; a case on an experiment that is not in the run has no column (its N/A is in
    the full table). ``anchor(column)`` is the id each cell links to.
    """
    known = set(experiments)
    by_key: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    objectives: list[str] = []
    for case in cases:
        column = _column(case)
        if column != RUN and column not in known:
            continue
        name = str(case.get("objective", "?"))
        if name not in objectives:
            objectives.append(name)
        by_key.setdefault((name, column), []).append(case)
    columns = list(experiments) + ([RUN] if any(c == RUN for _, c in by_key) else [])
    rows = []
    for name in objectives:
        cells: list[dict[str, Any]] = []
        for column in columns:
            own = by_key.get((name, column), [])
            if not own:
                cells.append({"verdict": "", "title": "no objective on this scope", "href": ""})
                continue
            verdict = max((c["verdict"] for c in own), key=lambda v: _SEVERITY.get(v, 0))
            cells.append(
                {
                    "verdict": verdict,
                    "css": verdict.replace("/", ""),
                    "title": _cell_title(own),
                    "href": f"#{anchor(column)}",
                    "n": len(own),
                }
            )
        rows.append({"objective": name, "cells": cells})
    return {"columns": columns, "rows": rows}


def first_screen(
    cases: Sequence[Mapping[str, Any]],
    experiments: Sequence[str],
    anchor: Callable[[str], str],
) -> dict[str, Any]:
    """The matrix, the failures in words (with their link) and the counts."""
    failed = [c for c in cases if c.get("verdict") == FAIL]
    experiments_failed = sorted({_column(c) for c in failed}, key=_order(experiments))
    return {
        "matrix": matrix(cases, experiments, anchor),
        "failures": [
            {"text": failure_text(c), "href": f"#{anchor(_column(c))}", "case": c} for c in failed
        ],
        "failed_where": experiments_failed,
    }


def _order(experiments: Sequence[str]) -> Callable[[str], int]:
    index = {name: i for i, name in enumerate(experiments)}
    return lambda name: index.get(name, len(index))
