"""A real PostgreSQL server for tests: Debian's binaries, ``initdb`` in a temp dir, a free port.

Run as the unprivileged ``postgres`` account when the tests run as root (the server refuses
root). Used by the checkpointer test (tests/target_agent/jobs/test_postgres.py) and the image
check (tests/image/), where the agent container reaches it as the manifests' ``postgres-0``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from stampede import procs

BINARIES = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


def why_not() -> str | None:
    """Why no server can start here (None when one can)."""
    if not BINARIES:
        return "no PostgreSQL server binaries (Debian's postgresql package) under /usr/lib"
    if os.getuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres account to run the server"
    return None


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.getuid() != 0:
        return cmd
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups", *cmd]


def accepts(dsn: str) -> procs.Probe:
    """A readiness probe: None once ``dsn`` accepts a connection, else why not."""

    def probe() -> str | None:
        try:
            with psycopg.connect(dsn, connect_timeout=1):
                return None
        except psycopg.OperationalError as exc:
            return str(exc).strip().splitlines()[0]

    return probe


@contextmanager
def postgres_server(
    user: str = "agent", password: str | None = None, database: str = "postgres"
) -> Iterator[tuple[str, int]]:
    """Start a server; yield ``(dsn, port)``. With ``password``: SCRAM auth; ``database`` made."""
    problem = why_not()
    assert problem is None, problem
    bin_dir = BINARIES[-1]
    root = Path(tempfile.mkdtemp(prefix="stampede-pg-"))
    data = root / "data"
    auth = ["--auth=trust"]
    if password is not None:
        (root / "pw").write_text(password)
        auth = ["--auth=scram-sha-256", f"--pwfile={root / 'pw'}"]
    if os.getuid() == 0:
        account = pwd.getpwnam("postgres")
        os.chown(root, account.pw_uid, account.pw_gid)
        if password is not None:
            os.chown(root / "pw", account.pw_uid, account.pw_gid)
    try:
        initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", user, "-E", "UTF8", *auth]
        subprocess.run(_as_postgres(initdb), check=True, capture_output=True, timeout=120)
        port = procs.free_port()
        secret = f":{password}" if password is not None else ""
        admin = f"postgresql://{user}{secret}@{procs.LOCALHOST}:{port}/postgres"
        cmd = _as_postgres([str(bin_dir / "postgres"), "-D", str(data), "-p", str(port),
                            "-h", procs.LOCALHOST, "-k", str(root)])  # fmt: skip
        proc = procs.start(cmd, root / "pg.log", accepts(admin), "postgres", 60)
        try:
            if database != "postgres":
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{database}"')
            yield admin.rsplit("/", 1)[0] + f"/{database}", port
        finally:
            procs.stop(proc, timeout_s=10)
    finally:
        shutil.rmtree(root, ignore_errors=True)
