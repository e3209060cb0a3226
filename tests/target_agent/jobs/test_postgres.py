"""The PostgreSQL checkpointer (``AGENT_CHECKPOINT_BACKEND=postgres``) with a real server.

The test starts its own cluster (Debian's PostgreSQL binaries, ``initdb`` in a temp dir, run
as the unprivileged ``postgres`` account when the tests run as root) on a free port, then
SIGKILLs an agent worker holding running jobs: every job must still be answered once and bill
the tokens of an uninterrupted run. Skipped, saying why, where there is no PostgreSQL or no
``langgraph-checkpoint-postgres``.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from stampede import procs
from tests.conftest import Server
from tests.target_agent.jobs.test_worker_kill import run_kills

BINARIES = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.getuid() != 0:
        return cmd
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups", *cmd]


@pytest.fixture
def postgres() -> Iterator[str]:
    """A PostgreSQL server on a free 127.0.0.1 port; its DSN. Stopped by PID."""
    if not BINARIES or importlib.util.find_spec("langgraph.checkpoint.postgres") is None:
        pytest.skip("needs PostgreSQL binaries and langgraph-checkpoint-postgres")
    if os.getuid() == 0:
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres account to run the server")
    bin_dir = BINARIES[-1]
    root = Path(tempfile.mkdtemp(prefix="stampede-pg-"))
    data = root / "data"
    if os.getuid() == 0:
        os.chown(root, account.pw_uid, account.pw_gid)
    try:
        subprocess.run(
            _as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-U", "agent",
                          "--auth=trust", "-E", "UTF8"]),
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        port = procs.free_port()
        dsn = f"postgresql://agent@{procs.LOCALHOST}:{port}/postgres"
        cmd = _as_postgres([str(bin_dir / "postgres"), "-D", str(data), "-p", str(port),
                            "-h", procs.LOCALHOST, "-k", str(root)])  # fmt: skip
        proc = procs.start(cmd, root / "pg.log", _accepts(dsn), "postgres", 60)
        try:
            yield dsn
        finally:
            procs.stop(proc, timeout_s=10)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _accepts(dsn: str) -> procs.Probe:
    import psycopg  # lazy: only where the postgres extra is installed (checked above)

    def probe() -> str | None:
        try:
            with psycopg.connect(dsn, connect_timeout=1):
                return None
        except psycopg.OperationalError as exc:
            return str(exc).strip().splitlines()[0]

    return probe


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
