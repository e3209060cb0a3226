"""Fixtures for the Chaos Toolkit extension and the local experiments.

A real local stack is started with the CLI users run (``stampede up --state-dir D``) and stopped
with ``stampede down``, both through the process layer (`stampede.procs.Child`, logs in the
state dir); Chaos Toolkit runs to completion as a subprocess, always with
``--no-version-check``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from experiments.activities.process import _workers
from experiments.activities.slo import _observe
from stampede import procs

REPO = Path(__file__).resolve().parents[2]
#: The experiments the tests of this directory check one by one (the smoke profile's three). The
#: rest of the local catalogue (issue 4) has its own, cheaper tests: test_full_catalogue*.py.
SMOKE_EXPERIMENTS = ("redis-outage", "replica-kill", "tool-latency")
LOCAL_EXPERIMENTS = [REPO / "experiments" / "local" / f"{name}.json" for name in SMOKE_EXPERIMENTS]
#: Every local experiment file.
ALL_LOCAL_EXPERIMENTS = sorted((REPO / "experiments" / "local").glob("*.json"))
BIN = Path(sys.executable).parent
#: Every Chaos Toolkit command of the tests: never let it phone home.
CHAOS = [str(BIN / "chaos"), "--no-version-check"]
STACK_UP_TIMEOUT_S = 120


@pytest.fixture(autouse=True)
def _forget_process_records() -> Iterator[None]:
    """Activities keep per-run records in-process; each test starts without any."""
    _observe.forget()
    _workers.forget()
    yield
    _observe.forget()
    _workers.forget()


def chaos(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout_s: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``chaos --no-version-check <args>`` in ``cwd`` (its chaostoolkit.log lands there)."""
    return subprocess.run(
        [*CHAOS, "--log-file", str(cwd / "chaostoolkit.log"), *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def _up_args(state_dir: Path, weakness: str, workers: int) -> list[str]:
    args = ["up", "--state-dir", str(state_dir), "--workers", str(workers)]
    return [*args, "--weakness", weakness] if weakness else args


def _stampede(args: list[str], log: Path) -> procs.Child:
    """``stampede <args>`` as users run it, output in ``log`` (through the process layer)."""
    return procs.Child(f"stampede {args[0]}", [str(BIN / "stampede"), *args], log, {}, REPO)


def _finish(child: procs.Child, timeout_s: float) -> str | None:
    """None if ``child`` exits 0 within ``timeout_s``, else what went wrong with its log tail."""
    code = child.wait(timeout_s)
    if code == 0:
        return None
    if code is None:
        code = child.stop(signal.SIGTERM, grace_s=10)
        return (
            f"{child.what} still ran after {timeout_s:.0f} s (stopped, {code}):\n{child.log_tail()}"
        )
    return f"{child.what} exited {code}:\n{child.log_tail()}"


def stop_stacks(state_dirs: list[Path]) -> None:
    """``stampede down`` every stack at once (each waits for its agent to drain)."""
    downs = [_stampede(["down", "--state-dir", str(d)], d / "down.log") for d in state_dirs]
    failed = [problem for child in downs if (problem := _finish(child, 60)) is not None]
    assert failed == [], "\n".join(failed)


@pytest.fixture(scope="session")
def stacks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Two local stacks started side by side: ``real`` (the reference agent) and
    ``readiness_on_redis`` (its readiness wrongly depends on Redis). Name -> state file.

    Starting them together halves the wait on a 2-core machine; each is stopped with
    ``stampede down`` at the end of the session, whatever the tests did to its processes.
    """
    wanted = {"real": ("", 2), "readiness_on_redis": ("readiness_on_redis", 2)}
    dirs = {name: tmp_path_factory.mktemp(f"stack-{name}") for name in wanted}
    starting = {
        name: _stampede(_up_args(dirs[name], weakness, workers), dirs[name] / "up.log")
        for name, (weakness, workers) in wanted.items()
    }
    try:
        failed = [
            f"({name}) {problem}"
            for name, child in starting.items()
            if (problem := _finish(child, STACK_UP_TIMEOUT_S)) is not None
        ]
        if failed:
            pytest.fail("\n".join(failed))
        yield {name: path / "stack.json" for name, path in dirs.items()}
    finally:
        for child in starting.values():
            child.stop(signal.SIGTERM, grace_s=10)
        stop_stacks(list(dirs.values()))


@pytest.fixture(scope="session")
def real_stack(stacks: dict[str, Path]) -> Path:
    """The state file of the stack with the reference agent (tests leave it clean)."""
    return stacks["real"]


def state_of(state_file: Path) -> dict[str, Any]:
    return json.loads(state_file.read_text())


def active_faults(state_file: Path) -> dict[str, Any]:
    """GET /faults straight from the toolbox (not through the activities under test)."""
    state = state_of(state_file)
    response = httpx.get(
        f"{state['toolbox']['url']}/faults",
        headers={"Authorization": f"Bearer {state['admin_token']}"},
        timeout=5,
        trust_env=False,
    )
    response.raise_for_status()
    faults: dict[str, Any] = response.json()["faults"]
    return faults
