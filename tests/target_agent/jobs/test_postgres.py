"""The PostgreSQL checkpointer (``AGENT_CHECKPOINT_BACKEND=postgres``) with a real server.

The test starts its own cluster (Debian's PostgreSQL binaries, ``initdb`` in a temp dir, run
as the unprivileged ``postgres`` account when the tests run as root) on a free port, then
SIGKILLs an agent worker holding running jobs: every job must still be answered once and bill
the tokens of an uninterrupted run. Skipped, saying why, where there is no PostgreSQL or no
``langgraph-checkpoint-postgres``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import pgserver
from tests.conftest import Server
from tests.target_agent.jobs.test_worker_kill import assert_job_metrics, run_kills


@pytest.fixture
def postgres() -> Iterator[str]:
    """A PostgreSQL server on a free 127.0.0.1 port; its DSN. Stopped by PID."""
    problem = pgserver.why_not()
    if problem:
        pytest.skip(problem)
    with pgserver.postgres_server() as (dsn, _port):
        yield dsn


@pytest.mark.timeout(180)
def test_a_killed_workers_jobs_resume_from_postgres_checkpoints(
    toolbox: Server, shared_redis: Server, tmp_path: Path, postgres: str
) -> None:
    run = run_kills(
        toolbox, shared_redis, tmp_path, 30, 1, finish_s=60, pause_s=1.0,
        checkpoint_backend="postgres", checkpoint_postgres_dsn=postgres,
    )  # fmt: skip
    print("\n" + run.summary())
    assert not run.lost
    assert run.interrupted
    for job in run.final.values():
        assert int(job["completions"]) == 1
        assert run.billed_once(job), (job, run.baseline(job))
    assert run.resumed, "no interrupted job resumed after a completed node"
    assert_job_metrics(run)
