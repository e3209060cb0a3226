"""The K-matrix: the detection matrix over K repetitions of every suite (``detect --repeat K``).

Each repetition is judged like a single detection run (:func:`stampede.detect.matrix.build_matrix`);
then per cell the K statuses are counted. A weakness counts as caught in a repetition when one
of its cells is ``caught`` (an intended objective failed) in that repetition. The verdict is
``pass`` only if every weakness is caught in K of K repetitions and the real agent passes every
experiment in K of K; ``error`` (exit 2) if any repetition could not be judged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from stampede.detect.matrix import Cell, build_matrix, report, weakness_status
from stampede.detect.results import RunResult
from stampede.detect.table import REAL, Expectation

Runs = Mapping[str, Sequence[RunResult | None]]  # row -> one result per repetition


def repetitions(runs: Runs) -> int:
    """K: the most results any row has (a row with fewer was interrupted: the rest not run)."""
    return max((len(results) for results in runs.values()), default=0)


def _round(runs: Runs, k: int) -> dict[str, RunResult | None]:
    return {name: (rs[k] if k < len(rs) else None) for name, rs in runs.items()}


def k_cell(cells: Sequence[Cell]) -> dict[str, Any]:
    """One cell over K repetitions: how many caught (or passed, for the real agent)."""
    first = cells[0]
    good = "pass" if first.row == REAL else "caught"
    return {
        "row": first.row,
        "experiment": first.experiment,
        "runs": len(cells),
        "good": sum(c.status == good for c in cells),
        "statuses": [c.status for c in cells],
        "caught_by": list(dict.fromkeys(n for c in cells for n in c.caught_by)),
        "failed": list(dict.fromkeys(n for c in cells for n in c.failed)),
        "details": [c.detail for c in cells],
    }


def _weakness(row: Expectation, rounds: list[list[Cell]]) -> dict[str, Any]:
    statuses = [weakness_status(row, cells) for cells in rounds]
    caught = statuses.count("caught")
    worst = next((s for s in ("error", "missed", "other") if s in statuses), "caught")
    return {
        "weakness": row.weakness,
        "experiments": list(row.experiments),
        "intended": list(row.objectives),
        "status": "caught" if caught == len(rounds) else worst,
        "caught_runs": caught,
        "runs": len(rounds),
        "statuses": statuses,
        "why": row.why,
        "local_limit": row.local_limit,
    }


def _problems(
    weaknesses: list[dict[str, Any]], k_cells: list[dict[str, Any]]
) -> tuple[list[str], list[str]]:
    """``(errors, problems)``: unjudgeable runs, and every K/K requirement missed."""
    errors: list[str] = []
    problems: list[str] = []
    for w in weaknesses:
        k = w["runs"]
        if "error" in w["statuses"]:
            errors.append(f"{w['weakness']}: could not be judged in run(s) {_which(w, 'error')}")
        if w["caught_runs"] < k:
            problems.append(
                f"{w['weakness']}: caught on an intended objective in {w['caught_runs']}/{k} "
                f"runs ({', '.join(w['statuses'])}; intended: {', '.join(w['intended'])})"
            )
    for cell in k_cells:
        if cell["row"] != REAL or cell["good"] == cell["runs"]:
            continue
        where = f"real agent / {cell['experiment']}"
        if "error" in cell["statuses"]:
            errors.append(f"{where}: could not be judged in run(s) {_which(cell, 'error')}")
        if "false_alarm" in cell["statuses"]:
            problems.append(
                f"{where}: passed {cell['good']}/{cell['runs']} runs, false alarm in run(s) "
                f"{_which(cell, 'false_alarm')} ({', '.join(cell['failed'])})"
            )
    return errors, problems


def _which(item: Mapping[str, Any], status: str) -> str:
    return ", ".join(str(i + 1) for i, s in enumerate(item["statuses"]) if s == status)


def repeated_report(
    rows: tuple[Expectation, ...], runs: Runs, meta: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """``matrix.json`` of ``detect --repeat K``; K = 1 is exactly :func:`report` (+ repeat)."""
    k = repetitions(runs)
    if k <= 1:
        single = report(rows, _round(runs, 0), meta)
        return {**single, "repeat": 1}
    rounds = [build_matrix(rows, _round(runs, i)) for i in range(k)]
    weaknesses = [_weakness(row, rounds) for row in rows]
    k_cells = [k_cell([cells[j] for cells in rounds]) for j in range(len(rounds[0]))]
    errors, problems = _problems(weaknesses, k_cells)
    if errors:
        verdict = {"verdict": "error", "exit_code": 2, "problems": errors + problems}
    elif problems:
        verdict = {"verdict": "fail", "exit_code": 1, "problems": problems}
    else:
        verdict = {"verdict": "pass", "exit_code": 0, "problems": []}
    return {
        "schema_version": 1,
        **dict(meta or {}),
        "repeat": k,
        **verdict,
        "weaknesses": weaknesses,
        "cells": k_cells,
        "rounds": [[cell.as_dict() for cell in cells] for cells in rounds],
        "runs": {
            name: [
                None if r is None else {"run_dir": r.run_dir, "exit_code": r.exit_code} for r in rs
            ]
            for name, rs in runs.items()
        },
    }
