"""The matrix: judge each cell (weakness x experiment) and the whole detection run.

Cell verdicts (weakness x experiment): ``caught`` (an intended objective failed), ``other`` (some
objective failed, none of the intended ones: detected, but not for the reason the table gives),
``missed`` (nothing failed), ``error`` (the run could not be judged: harness error, no gate).
Real agent x experiment: ``pass`` or ``false_alarm``. A weakness is caught when one of its cells
is. The verdict is ``pass`` only if every weakness is caught on an intended objective and the
real agent passes everywhere — see :func:`verdict`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stampede.detect.results import RunResult, live_name
from stampede.detect.table import REAL, Expectation, union_experiments


@dataclass(frozen=True)
class Cell:
    row: str  # a weakness or REAL
    experiment: str
    status: str  # caught | other | missed | error | pass | false_alarm
    caught_by: tuple[str, ...] = ()  # intended objectives that failed
    failed: tuple[str, ...] = ()  # every failing objective (gate names and live:<figure>)
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "experiment": self.experiment,
            "status": self.status,
            "caught_by": list(self.caught_by),
            "failed": list(self.failed),
            "detail": self.detail,
        }


def _failed(result: RunResult, experiment: str) -> tuple[list[str], list[str]]:
    gate = list(result.gate_failures.get(experiment, []))
    live = result.live_breaches.get(experiment, [])
    names = gate + [n for n in dict.fromkeys(live_name(b) for b in live)]
    return names, live


def judge_cell(
    row: str, experiment: str, result: RunResult | None, intended: tuple[str, ...]
) -> Cell:
    """One cell from one run: intended objectives failing -> caught (weakness rows)."""
    if result is None:
        return Cell(row, experiment, "error", detail="not run")
    if result.problem:
        return Cell(row, experiment, "error", detail=result.problem)
    failed, live = _failed(result, experiment)
    detail = "; ".join(live)
    if row == REAL:
        return Cell(row, experiment, "false_alarm" if failed else "pass", (), tuple(failed), detail)
    caught = tuple(name for name in failed if name in intended)
    if caught:
        status = "caught"
    elif failed:
        status = "other"
    else:
        status = "missed"
    return Cell(row, experiment, status, caught, tuple(failed), detail)


def build_matrix(
    rows: tuple[Expectation, ...], results: Mapping[str, RunResult | None]
) -> list[Cell]:
    """Every weakness x its experiments, then the real agent x the union of experiments."""
    cells = [
        judge_cell(row.weakness, exp, results.get(row.weakness), row.objectives)
        for row in rows
        for exp in row.experiments
    ]
    cells += [judge_cell(REAL, exp, results.get(REAL), ()) for exp in union_experiments(rows)]
    return cells


def weakness_status(row: Expectation, cells: list[Cell]) -> str:
    """caught | other | missed | error over the row's cells (best first)."""
    mine = [c.status for c in cells if c.row == row.weakness]
    for status in ("caught", "other", "error", "missed"):
        if status in mine:
            return status
    return "missed"


def verdict(rows: tuple[Expectation, ...], cells: list[Cell]) -> dict[str, Any]:
    """Overall: pass (exit 0), fail (exit 1) or error (exit 2), with the reasons."""
    problems: list[str] = []
    errors: list[str] = []
    for row in rows:
        status = weakness_status(row, cells)
        if status == "error":
            errors.append(f"{row.weakness}: could not be judged")
        elif status != "caught":
            intended = ", ".join(row.objectives)
            problems.append(f"{row.weakness}: {status} (intended: {intended})")
    for cell in cells:
        if cell.row != REAL:
            continue
        if cell.status == "error":
            errors.append(f"real agent / {cell.experiment}: {cell.detail}")
        elif cell.status == "false_alarm":
            problems.append(
                f"real agent / {cell.experiment}: false alarm ({', '.join(cell.failed)})"
            )
    if errors:
        return {"verdict": "error", "exit_code": 2, "problems": errors + problems}
    if problems:
        return {"verdict": "fail", "exit_code": 1, "problems": problems}
    return {"verdict": "pass", "exit_code": 0, "problems": []}


def report(
    rows: tuple[Expectation, ...],
    results: Mapping[str, RunResult | None],
    meta: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON document of a detection run (what ``matrix.json`` holds)."""
    cells = build_matrix(rows, results)
    return {
        "schema_version": 1,
        **dict(meta or {}),
        **verdict(rows, cells),
        "weaknesses": [
            {
                "weakness": row.weakness,
                "experiments": list(row.experiments),
                "intended": list(row.objectives),
                "status": weakness_status(row, cells),
                "why": row.why,
                "local_limit": row.local_limit,
            }
            for row in rows
        ],
        "cells": [cell.as_dict() for cell in cells],
        "runs": {
            name: (None if r is None else {"run_dir": r.run_dir, "exit_code": r.exit_code})
            for name, r in results.items()
        },
    }
