"""Detection matrix: does the harness fail each weakened agent on the right SLO, pass the real one?

For every weakness of the reference agent (``AGENT_WEAKNESS``) the table :data:`EXPECTATIONS`
names the experiments that should expose it and the objectives that should catch it. ``stampede
detect`` runs one suite per weakness (only its experiments) and one suite of the real agent
through the union of those experiments, then judges each cell from the run directories:

* a **gate** objective (``gate.json``, the SLO file's objective names) that FAILs in the cell's
  experiment, or
* a **live** objective: a breach recorded by the experiment's steady-state hypothesis in its
  journal (``experiments.activities.slo`` probes, e.g. ``live:ready_ratio`` — the share of
  ``/readyz`` samples that were 200 while the fault lasted), named ``live:<figure>``.

Cell verdicts (weakness x experiment): ``caught`` (an intended objective failed), ``other`` (some
objective failed, none of the intended ones: detected, but not for the reason the table gives),
``missed`` (nothing failed), ``error`` (the run could not be judged: harness error, no gate).
Real agent x experiment: ``pass`` or ``false_alarm``. A weakness is caught when one of its cells
is. The verdict is ``pass`` only if every weakness is caught on an intended objective and the
real agent passes everywhere — see :func:`verdict`.

Pure part: :func:`load_result` (run dir -> :class:`RunResult`), :func:`build_matrix`,
:func:`verdict`, :func:`to_markdown`, :func:`to_text`. Only :func:`run_detection` runs suites.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from stampede.errors import InputError

REAL = "real"  # the row of the reference agent with no weakness


@dataclass(frozen=True)
class Expectation:
    """What should expose one weakness: experiments, intended objectives, and how honest it is."""

    weakness: str
    experiments: tuple[str, ...]
    objectives: tuple[str, ...]  # gate objective names, or "live:<figure>" for journal breaches
    why: str
    # Empty when the local stack shows the weakness's real consequence; otherwise what it does
    # and does not show (printed with the matrix, never turned into a fake catch).
    local_limit: str = ""


EXPECTATIONS: tuple[Expectation, ...] = (
    Expectation(
        "no_retries",
        ("llm-errors",),
        ("llm-errors-correct",),
        "20% of LLM calls fail; without a retry each failed reasoner call becomes a degraded "
        "answer, so the correct ratio in the fault phase drops below 0.95.",
    ),
    Expectation(
        "no_breaker",
        ("tool-latency", "tool-hang"),
        ("slow-dependency-p50",),
        "every request pays the 1 s tool timeout (plus budgeted retries) instead of failing "
        "fast once the breaker is open: median latency in the fault phase exceeds 1000 ms.",
    ),
    Expectation(
        "no_timeouts",
        ("tool-hang",),
        ("fault-latency-p95", "slow-dependency-p50", "fault-errors"),
        "a hanging get_metrics call is waited for until the fault is cleared: p95 (and p50) of "
        "the fault phase explode (or requests time out at the load generator: fault-errors).",
    ),
    Expectation(
        "retry_storm",
        ("llm-rate-limit",),
        ("retry-budget", "cost-amplification"),
        "10 attempts without backoff, budget or Retry-After against a rate-limited LLM: "
        "retries per request in the fault phase far above 1 (cost per success rises with it "
        "where failed calls are billed).",
    ),
    Expectation(
        "readiness_on_redis",
        ("redis-outage",),
        ("live:ready_ratio",),
        "/readyz fails for the whole Redis outage: the share of ready samples taken during the "
        "fault by the experiment's live SLO probe falls below 0.9.",
        local_limit="Caught by the readiness SLO only. On the local stack uvicorn keeps routing "
        "to a not-ready worker, so users see no error and the request-based gate objectives "
        "pass; on Kubernetes every replica would leave the Service and the outage would be "
        "total. The readiness samples are what a Kubernetes readiness gate acts on, so a "
        "failing readiness SLO is an honest catch, not an inferred one.",
    ),
    Expectation(
        "no_graceful_shutdown",
        ("rolling-restart",),
        ("rolling-restart-zero-errors",),
        "uvicorn's SIGHUP replaces each worker and SIGTERMs the old one; with the weakness the "
        "worker exits at once instead of draining, so its in-flight requests fail.",
        local_limit="Locally the SIGTERM comes from uvicorn's rolling restart (SIGHUP to the "
        "master), not from a kubelet: the preStop hook and grace period of a pod are not "
        "exercised (k8s/ and the kind experiments cover those).",
    ),
    Expectation(
        "trust_tools",
        ("lying-tool", "hallucinating-llm"),
        ("no-wrong-answers",),
        "the verifier returns the LLM's claim as complete: a lying tool or a hallucinating "
        "reasoner becomes a confident wrong root cause (status 200: only wrong_ratio sees it).",
    ),
)


def expectations_for(weaknesses: Iterable[str] | None = None) -> tuple[Expectation, ...]:
    """The table rows for ``weaknesses`` (all when None); InputError on an unknown name."""
    if not weaknesses:
        return EXPECTATIONS
    by_name = {e.weakness: e for e in EXPECTATIONS}
    unknown = [w for w in weaknesses if w not in by_name]
    if unknown:
        raise InputError(
            f"--weaknesses: unknown {', '.join(unknown)} (known: {', '.join(by_name)})"
        )
    return tuple(by_name[w] for w in weaknesses)


def union_experiments(rows: Iterable[Expectation]) -> list[str]:
    """Every experiment of ``rows``, first appearance order (what the real agent runs)."""
    out: list[str] = []
    for row in rows:
        out += [name for name in row.experiments if name not in out]
    return out


# --------------------------------------------------------------------------------------------
# Reading a run directory


@dataclass
class RunResult:
    """What one suite run says, per experiment: failing objectives and live breaches."""

    run_dir: str
    exit_code: int | None
    gate_failures: dict[str, list[str]] = field(default_factory=dict)  # experiment -> objectives
    live_breaches: dict[str, list[str]] = field(default_factory=dict)  # experiment -> details
    deviated: dict[str, bool] = field(default_factory=dict)
    run_failures: list[str] = field(default_factory=list)  # objectives failing on scope `run`
    values: dict[str, dict[str, Any]] = field(default_factory=dict)  # exp -> "obj [scope]" -> v
    problem: str = ""  # why this run cannot be judged (no gate.json, harness error)


def _live_breaches(journal: Mapping[str, Any]) -> list[str]:
    """Breaches of the SLO probes of the hypothesis after the method, as "figure detail"."""
    after = (journal.get("steady_states") or {}).get("after") or {}
    found: list[str] = []
    for probe in after.get("probes") or []:
        output = probe.get("output")
        if isinstance(output, dict) and isinstance(output.get("breached"), list):
            found += [str(item) for item in output["breached"]]
    return found


def live_name(breach: str) -> str:
    """``"ready_ratio 0.1 < 0.9"`` -> ``"live:ready_ratio"``."""
    head = breach.split(" ", 1)[0] if breach else "unknown"
    return f"live:{head}"


def load_result(run_dir: Path, exit_code: int | None = None) -> RunResult:
    """Read gate.json and every journal of a run directory (no computation beyond grouping)."""
    result = RunResult(str(run_dir), exit_code)
    gate_path = run_dir / "gate.json"
    try:
        gate = json.loads(gate_path.read_text())
    except (OSError, ValueError) as exc:
        result.problem = f"{gate_path}: cannot read the gate's verdicts ({exc})"
        gate = {}
    if exit_code == 2 and not result.problem:
        result.problem = f"{run_dir}: the suite exited 2 (harness error; see its output)"
    for case in gate.get("cases") or []:
        exp = (case.get("scope") or {}).get("experiment")
        label = f"{case.get('objective')} [{case.get('scope_label')}]"
        if exp:
            result.values.setdefault(exp, {})[label] = case.get("value")
        if case.get("verdict") != "FAIL":
            continue
        if exp:
            names = result.gate_failures.setdefault(exp, [])
            if case["objective"] not in names:
                names.append(case["objective"])
        else:
            result.run_failures.append(str(case.get("objective")))
    try:
        run = json.loads((run_dir / "run.json").read_text())
    except (OSError, ValueError):
        run = {}
    for exp in run.get("experiments") or []:
        name = exp.get("name")
        result.deviated[name] = bool(exp.get("deviated"))
        journal_path = run_dir / str(exp.get("journal") or f"chaos/{name}/journal.json")
        try:
            journal = json.loads(journal_path.read_text())
        except (OSError, ValueError):
            continue
        result.live_breaches[name] = _live_breaches(journal)
    return result


# --------------------------------------------------------------------------------------------
# The matrix


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


_MARK = {
    "caught": "CAUGHT",
    "other": "other SLO",
    "missed": "MISSED",
    "error": "ERROR",
    "pass": "pass",
    "false_alarm": "FALSE ALARM",
}


def _cell_text(cell: Mapping[str, Any]) -> str:
    status = cell["status"]
    if status == "caught":
        return f"CAUGHT by {', '.join(cell['caught_by'])}"
    if status in ("other", "false_alarm"):
        return f"{_MARK[status]}: {', '.join(cell['failed'])}"
    return _MARK.get(status, status)


def _grid(doc: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    cells = doc["cells"]
    experiments = list(dict.fromkeys(c["experiment"] for c in cells))
    header = ["weakness", *experiments, "verdict"]
    lines = []
    for row in [*doc["weaknesses"], {"weakness": REAL, "status": None}]:
        name = row["weakness"]
        mine = {c["experiment"]: c for c in cells if c["row"] == name}
        values = [_cell_text(mine[e]) if e in mine else "-" for e in experiments]
        if name == REAL:
            bad = [c for c in mine.values() if c["status"] != "pass"]
            overall = "pass" if not bad else "FAIL"
            label = "real agent"
        else:
            overall = _MARK.get(row["status"], row["status"])
            label = name
        lines.append([label, *values, overall])
    return header, lines


def to_markdown(doc: Mapping[str, Any]) -> str:
    """The matrix as Markdown: grid, then per weakness why and the local limits."""
    header, lines = _grid(doc)
    out = [
        f"# Detection matrix: {doc['verdict'].upper()} (exit {doc['exit_code']})",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    out += ["| " + " | ".join(line) + " |" for line in lines]
    if doc["problems"]:
        out += ["", "## Problems", ""] + [f"- {p}" for p in doc["problems"]]
    out += ["", "## What each weakness should trip, and why", ""]
    for row in doc["weaknesses"]:
        out.append(
            f"- **{row['weakness']}** ({', '.join(row['experiments'])}; intended: "
            f"{', '.join(row['intended'])}): {row['why']}"
        )
        if row["local_limit"]:
            out.append(f"  - *Local stack limit:* {row['local_limit']}")
    details = [c for c in doc["cells"] if c["detail"]]
    if details:
        out += ["", "## Live SLO breaches recorded in the journals", ""]
        out += [f"- {c['row']} / {c['experiment']}: {c['detail']}" for c in details]
    if doc.get("runs"):
        out += ["", "## Runs", ""]
        out += [
            f"- {name}: `{r['run_dir']}` (suite exit {r['exit_code']})"
            for name, r in doc["runs"].items()
            if r
        ]
    return "\n".join(out) + "\n"


def to_text(doc: Mapping[str, Any]) -> str:
    """The matrix as a plain table for the terminal (one row per weakness, then the real one)."""
    header, lines = _grid(doc)
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]
    fmt = "  ".join("{:<" + str(w) + "}" for w in widths)
    out = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*line) for line in lines]
    out.append(f"detect: {doc['verdict'].upper()} (exit {doc['exit_code']})")
    out += [f"  - {p}" for p in doc["problems"]]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------
# Running it


@dataclass
class DetectConfig:
    out: Path = Path("runs/detect")
    weaknesses: list[str] | None = None
    profile: str = "full"
    slo: Path = Path("slo.yaml")
    state_dir: Path = Path(".stampede")
    keep_stack: bool | None = None
    real: bool = True


def run_detection(
    config: DetectConfig,
    say: Callable[[str], None] = print,
    run: Callable[[Any], Any] | None = None,
) -> dict[str, Any]:
    """Run one suite per weakness and one for the real agent; write matrix.json / matrix.md.

    ``run`` is :func:`stampede.suite.run_suite` (injectable for tests). Suites share one local
    stack (restarted when the weakness changes); it is stopped at the end if we started it.
    """
    from stampede.suite import SuiteConfig, run_suite

    runner = run or run_suite
    rows = expectations_for(config.weaknesses)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    runs_dir = config.out / "runs"
    base = SuiteConfig(
        profile=config.profile,
        slo=config.slo,
        runs_dir=runs_dir,
        state_dir=config.state_dir,
        keep_stack=True,
    )
    stack_existed = (config.state_dir / "stack.json").exists()
    plan: list[tuple[str, list[str]]] = [(row.weakness, list(row.experiments)) for row in rows]
    if config.real:
        plan.append((REAL, union_experiments(rows)))
    results: dict[str, RunResult | None] = {name: None for name, _ in plan}
    started = time.time()
    timings: dict[str, float] = {}
    try:
        for name, experiments in plan:
            say(f"detect: {name}: {', '.join(experiments)}")
            t0 = time.monotonic()
            suite_config = replace(
                base,
                weakness=None if name == REAL else name,
                experiments=experiments,
                run_id=f"detect-{stamp}-{name}",
            )
            outcome = runner(suite_config)
            timings[name] = round(time.monotonic() - t0, 1)
            results[name] = load_result(outcome.run_dir, outcome.exit_code)
            if getattr(outcome, "interrupted", False):
                say("detect: interrupted")
                break
    finally:
        if config.keep_stack is False or (config.keep_stack is None and not stack_existed):
            from stampede import stack

            say(f"detect: stopping the local stack in {config.state_dir}")
            stack.down(config.state_dir)
    meta = {
        "started_at": started,
        "ended_at": time.time(),
        "profile": config.profile,
        "slo_file": str(config.slo),
        "seconds_per_run": timings,
    }
    doc = report(rows, results, meta)
    config.out.mkdir(parents=True, exist_ok=True)
    (config.out / "matrix.json").write_text(json.dumps(doc, indent=2) + "\n")
    (config.out / "matrix.md").write_text(to_markdown(doc))
    return doc
