"""The asynchronous Locust user against the real agent, and the durable SLIs of its rows.

Locust runs as a subprocess (it monkey-patches on import); its ``requests.csv`` goes through
``reports.runs.run_slis``. A no_reclaim agent whose worker is SIGKILLed mid-run shows lost runs.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from reports.runs import RUN_SLIS, flags, run_cost_amplification, run_slis, user_requests
from stampede import procs
from tests.conftest import Server
from tests.target_agent.agent.support import fresh_db, spawn_agent
from tests.target_agent.jobs.test_worker_kill import set_llm_latency

REPO = Path(__file__).resolve().parents[3]
LOCUST = str(Path(sys.executable).parent / "locust")


class Scope:
    """The part of ``ScopeSlis`` that ``run_slis`` uses."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {}
        self.reasons: dict[str, str] = {}

    def set(self, name: str, value: object, reason: str = "") -> None:
        self.values[name] = value
        if value is None:
            self.reasons[name] = reason


def run_async_locust(url: str, out: Path, seconds: int, users: int) -> list[dict[str, str]]:
    cmd = [
        LOCUST, "-f", str(REPO / "loadtests" / "async_locustfile.py"), "--headless",
        "--host", url, "--only-summary", "-u", str(users), "-r", str(users), "-t", f"{seconds}s",
        "--stampede-shape", "none", "--stampede-timeout", "10",
        "--stampede-requests-csv", str(out / "requests.csv"), "--stop-timeout", "40",
    ]  # fmt: skip
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=seconds + 90)
    assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr[-3000:]
    with open(out / "requests.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_async_user_submits_polls_and_judges(
    toolbox: Server, shared_redis: Server, tmp_path: Path
) -> None:
    proc, url = spawn_agent(
        toolbox, fresh_db(shared_redis, 8), tmp_path / "agent.log", 1,
        checkpoint_path=str(tmp_path / "cp.sqlite"),
    )  # fmt: skip
    try:
        rows = run_async_locust(url, tmp_path, 6, 4)
    finally:
        procs.stop(proc, timeout_s=5)
    names = {row["name"] for row in rows}
    assert {"POST /investigations [submit]", "GET /investigations/{id} [poll]"} <= names
    runs = [row for row in rows if row["name"].startswith("investigation [async")]
    submits = [row for row in rows if row["name"] == "POST /investigations [submit]"]
    assert runs and len(runs) == len(submits)
    assert all(row["outcome"] == "correct" for row in runs), runs[:3]
    assert all(float(row["tokens"]) > 0 for row in runs)
    scope = Scope()
    run_slis(scope, pd.read_csv(tmp_path / "requests.csv"))
    assert set(RUN_SLIS) <= set(scope.values)
    assert scope.values["accepted_runs"] == len(runs)
    assert scope.values["lost_runs"] == scope.values["duplicate_completions"] == 0
    assert scope.values["time_to_answer_p95_ms"] is not None


def test_a_full_queue_sheds_submits_and_the_user_records_them_as_shed(
    toolbox: Server, shared_redis: Server, tmp_path: Path
) -> None:
    """AGENT_JOB_QUEUE_LIMIT=1 with LLM calls slowed: most submits get 503 + Retry-After."""
    proc, url = spawn_agent(
        toolbox, fresh_db(shared_redis, 10), tmp_path / "agent.log", 1,
        checkpoint_path=str(tmp_path / "cp.sqlite"), job_queue_limit="1",
    )  # fmt: skip
    set_llm_latency(toolbox, 1500)
    try:
        rows = run_async_locust(url, tmp_path, 5, 4)
    finally:
        set_llm_latency(toolbox, None)
        procs.stop(proc, timeout_s=5)
    submits = [r for r in rows if r["name"] == "POST /investigations [submit]"]
    shed = [r for r in submits if r["status"] == "503"]
    runs = [r for r in rows if r["name"].startswith("investigation [async")]
    assert shed and runs, sorted({(r["name"], r["status"], r["outcome"]) for r in rows})
    assert {r["outcome"] for r in shed} == {"shed"}, shed[:3]
    assert all("Retry-After" in r["error"] for r in shed), shed[:3]
    assert len(runs) == len(submits) - len(shed)  # one run row per accepted submit, no more
    kept = user_requests(pd.read_csv(tmp_path / "requests.csv"))
    assert int((kept["outcome"] == "shed").sum()) == len(shed)  # a refusal is a request


def test_run_slis_count_flags_and_say_why_without_runs() -> None:
    rows = pd.DataFrame(
        {
            "name": [
                "investigation [async]",
                "investigation [async, resumed, retried]",
                "investigation [async, lost]",
                "investigation [async, failed]",
                "POST /investigations [submit]",
            ],
            "outcome": ["correct", "degraded", "error", "error", "correct"],
            "latency_ms": [100.0, 300.0, 30000.0, 900.0, 2.0],
            "cost_usd": [0.001, 0.003, None, None, None],
        }
    )
    scope = Scope()
    run_slis(scope, rows)
    assert scope.values == {
        "accepted_runs": 4,
        "lost_runs": 1,
        "failed_runs": 1,
        "interrupted_runs": 2,  # retried + lost
        "resumed_runs": 1,
        "duplicate_completions": 0,
        "time_to_answer_p95_ms": 300.0,
        "cost_per_completed_run_usd": 0.002,
        "interrupted_run_cost_amplification": None,  # no case_id column
        "rebilled_runs": None,
    }
    assert flags("investigation [async, resumed, retried]") == {"resumed", "retried"}
    empty = Scope()
    run_slis(empty, rows[rows["name"].str.startswith("POST")])
    assert all(v is None for v in empty.values.values())
    assert "no asynchronous runs" in empty.reasons["lost_runs"]


def test_run_cost_amplification_is_fault_over_baseline() -> None:
    scopes = {phase: Scope() for phase in ("all", "baseline", "fault", "recovery")}
    for phase, cost in (("baseline", 0.002), ("fault", 0.003), ("recovery", None)):
        scopes[phase].set("cost_per_completed_run_usd", cost, "none")
    run_cost_amplification(scopes, has_phases=True)  # type: ignore[arg-type]
    assert scopes["fault"].values["run_cost_amplification"] == pytest.approx(1.5)
    assert scopes["all"].values["run_cost_amplification"] == pytest.approx(1.5)
    assert scopes["recovery"].values["run_cost_amplification"] is None
    alone = {"all": Scope()}
    run_cost_amplification(alone, has_phases=False)  # type: ignore[arg-type]
    assert alone["all"].reasons["run_cost_amplification"] == "no baseline phase"
