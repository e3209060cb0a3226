"""A job that fails every attempt: ``failed`` with its reason through the API and in the report.

Real parts: Redis, the toolbox, a PostgreSQL server (Debian's binaries, its own cluster in a
temp dir) holding the agent's checkpoints, the agent under uvicorn, and the asynchronous Locust
user. The checkpoint store is then stopped, so every attempt of every new job fails
(``OperationalError``) and the agent dead-letters it after ``AGENT_JOB_MAX_ATTEMPTS``; the
Locust rows go into a run directory and ``stampede report`` must list each failed run with
the agent's reason. Skipped, saying why, where no PostgreSQL server can run.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from stampede import procs
from tests import pgserver
from tests.conftest import Server
from tests.reports.rundir import Exp, write_run
from tests.target_agent.agent.support import by_service, fresh_db, spawn_agent
from tests.target_agent.jobs.test_async_user import run_async_locust

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
EXPERIMENT = "checkpoint-store-down"


def _submit_and_wait(url: str) -> dict[str, Any]:
    """POST one investigation; its final view (polled for at most 60 s)."""
    with httpx.Client(base_url=url, timeout=5, trust_env=False) as client:
        accepted = client.post(
            "/investigations", json=by_service("checkout").alert(),
            headers={"Idempotency-Key": "failing-job-1"},
        )  # fmt: skip
        assert accepted.status_code == 202, accepted.text
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            view: dict[str, Any] = client.get(accepted.headers["location"]).json()
            if view["status"] not in ("pending", "running"):
                return view
            time.sleep(0.2)
    raise AssertionError(f"the job did not end within 60 s: {view}")


def _locust_rows(url: str, out: Path) -> list[dict[str, str]]:
    rows = run_async_locust(url, out, 5, 2)
    for row in rows:
        row["experiment"] = EXPERIMENT
    return rows


@pytest.mark.timeout(240)
def test_a_job_failing_every_attempt_is_failed_with_its_reason_in_the_api_and_the_report(
    toolbox: Server, shared_redis: Server, tmp_path: Path
) -> None:
    problem = pgserver.why_not()
    if problem:
        pytest.skip(problem)
    with pgserver.postgres_server() as (dsn, _port):
        proc, url = spawn_agent(
            toolbox, fresh_db(shared_redis, 9), tmp_path / "agent.log", 1,
            checkpoint_backend="postgres", checkpoint_postgres_dsn=dsn,
            job_max_attempts="2", job_visibility_timeout_s="0.5", job_block_s="0.2",
        )  # fmt: skip
        # SIGTERM is PostgreSQL's smart shutdown (it waits for its clients): end the agent's
        # session first, so the server stops now and the agent's connection is gone.
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'"
            )
    try:  # the checkpoint store is gone from here on
        view = _submit_and_wait(url)
        rows = _locust_rows(url, tmp_path)
    finally:
        procs.stop(proc, timeout_s=20)
    assert view["status"] == "failed", view
    assert view["attempts"] == 2, view
    assert "gave up after 2 attempts (limit 2)" in view["reason"], view
    assert "OperationalError" in view["reason"], view
    runs = [r for r in rows if r["name"].startswith("investigation [async")]
    failed = [r for r in runs if "failed" in r["name"]]
    assert failed and len(failed) == len(runs), [(r["name"], r["error"]) for r in runs]
    reasons = {r["error"] for r in failed}
    assert all("gave up after 2 attempts (limit 2)" in r for r in reasons), reasons
    assert all("OperationalError" in r for r in reasons), reasons

    # The run directory: the Locust rows of one experiment, judged and reported.
    ts = [float(r["ts"]) for r in rows]
    run_dir = write_run(tmp_path / "run", [Exp(EXPERIMENT, min(ts) - 1, max(ts) + 30)], [])
    with open(run_dir / "requests.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "stampede"), "report", str(run_dir)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert f"Runs that did not finish ({len(failed)})" in html
    assert html.count('<span class="badge no">failed</span>') == min(len(failed), 50)
    assert "gave up after 2 attempts (limit 2)" in html and "OperationalError" in html
