"""Reading one suite run's directory for the matrix: failing objectives and live breaches.

Pure reading (gate.json, run.json, the journals) and grouping; no judgement here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stampede.errors import InputError
from stampede.rundir.safe import inside
from stampede.yamlinput import read_json


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
        gate = read_json(gate_path)
    except InputError as exc:
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
        run = read_json(run_dir / "run.json")
    except InputError:
        run = {}
    for exp in run.get("experiments") or []:
        name = exp.get("name")
        result.deviated[name] = bool(exp.get("deviated"))
        try:
            journal_path = inside(run_dir, str(exp.get("journal") or f"chaos/{name}/journal.json"))
            journal = read_json(journal_path)
        except InputError:
            continue
        result.live_breaches[name] = _live_breaches(journal)
    return result
