"""Run ids and the run directory's layout: ``runs/<run-id>/`` with ``locust/`` and ``chaos/``.

Also the provenance that goes into run.json (git sha, package versions). docs/contracts.md
("Run directory") is the contract.
"""

from __future__ import annotations

import csv
import importlib.metadata
import re
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

from stampede.contract import SAMPLE_COLUMNS
from stampede.errors import InputError
from stampede.rundir.safe import atomic_open

# Packages whose versions go into run.json (distribution names, as pip spells them).
VERSIONED_PACKAGES = (
    "stampede",
    "locust",
    "chaostoolkit",
    "chaostoolkit-lib",
    "langgraph",
    "langchain-openai",
    "fastapi",
    "uvicorn",
    "redis",
    "pandas",
)

RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def new_run_id(profile: str, now: float | None = None) -> str:
    """``YYYYMMDD-HHMMSS-<profile>`` in UTC, e.g. ``20261123-161500-smoke``."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(time.time() if now is None else now))
    return f"{stamp}-{profile}"


def check_run_id(run_id: str) -> str:
    """Return ``run_id`` if it is a safe directory name, else raise InputError saying why."""
    if not RUN_ID_RE.match(run_id) or run_id in {".", ".."}:
        raise InputError(
            f"--run-id {run_id!r}: use letters, digits, '.', '_' and '-' only "
            "(at most 128 characters, not starting with '.' or '-')"
        )
    return run_id


def create_run_dir(runs_dir: Path, run_id: str | None, profile: str) -> Path:
    """Make ``runs_dir/<run-id>/`` with ``locust/`` and ``chaos/``; never reuse an existing one.

    A generated id that is taken (two runs in one second) gets a ``-2``, ``-3``... suffix; an id
    the user chose that is taken is an InputError.
    """
    if run_id is not None:
        check_run_id(run_id)
        run_dir = runs_dir / run_id
        if run_dir.exists():
            raise InputError(f"--run-id {run_id}: {run_dir} already exists; choose another id")
    else:
        base = new_run_id(profile)
        run_dir = runs_dir / base
        suffix = 2
        while run_dir.exists():
            run_dir = runs_dir / f"{base}-{suffix}"
            suffix += 1
    (run_dir / "locust").mkdir(parents=True)
    (run_dir / "chaos").mkdir()
    return run_dir


def ensure_samples_file(run_dir: Path) -> Path:
    """``samples.csv`` with its header, created empty if no sampler ever ran."""
    path = run_dir / "samples.csv"
    if not path.exists() or path.stat().st_size == 0:
        with atomic_open(path, "w", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerow(SAMPLE_COLUMNS)
    return path


def git_sha(cwd: Path | None = None) -> str:
    """``git rev-parse HEAD`` of ``cwd``, or ``"unknown"`` outside a repository or without git."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    sha = done.stdout.strip()
    return sha if done.returncode == 0 and re.fullmatch(r"[0-9a-f]{40,64}", sha) else "unknown"


def package_versions(packages: Iterable[str] = VERSIONED_PACKAGES) -> dict[str, str | None]:
    """Installed version of each distribution, None when it is not installed."""
    versions: dict[str, str | None] = {}
    for name in packages:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions
