"""Fixtures for the Chaos Toolkit extension and the local experiments.

A real local stack is started with the CLI users run (``stampede up --state-dir D``) and stopped
with ``stampede down``; Chaos Toolkit runs as a subprocess, always with ``--no-version-check``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from experiments.activities.process import _workers
from experiments.activities.slo import _observe

REPO = Path(__file__).resolve().parents[2]
LOCAL_EXPERIMENTS = sorted((REPO / "experiments" / "local").glob("*.json"))
BIN = Path(sys.executable).parent
#: Every Chaos Toolkit command of the tests: never let it phone home.
CHAOS = [str(BIN / "chaos"), "--no-version-check"]
STACK_UP_TIMEOUT_S = 120


@pytest.fixture(autouse=True)
def _forget_process_records() -> Iterator[None]:
    """Activities keep per-``chaos run`` records in-process; each test starts without any."""
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


def stampede(*args: str, timeout_s: float = STACK_UP_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "stampede"), *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def start_stack(state_dir: Path, weakness: str = "") -> Path:
    """``stampede up`` in ``state_dir`` (2 agent workers, free ports); the state file's path."""
    args = ["up", "--state-dir", str(state_dir), "--workers", "2"]
    if weakness:
        args += ["--weakness", weakness]
    done = stampede(*args)
    if done.returncode != 0:
        stampede("down", "--state-dir", str(state_dir))
        pytest.fail(f"stampede up failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return state_dir / "stack.json"


def stop_stack(state_dir: Path) -> None:
    done = stampede("down", "--state-dir", str(state_dir), timeout_s=60)
    assert done.returncode == 0, f"stampede down failed:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="session")
def real_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One local stack with the real agent, shared by the tests that leave it clean."""
    state_dir = tmp_path_factory.mktemp("stack")
    state_file = start_stack(state_dir)
    try:
        yield state_file
    finally:
        stop_stack(state_dir)


def state_of(state_file: Path) -> dict[str, Any]:
    return json.loads(state_file.read_text())


def active_faults(state_file: Path) -> dict[str, Any]:
    """GET /faults straight from the toolbox (not through the activities under test)."""
    state = state_of(state_file)
    response = httpx.get(
        f"{state['toolbox']['url']}/faults",
        headers={"Authorization": f"Bearer {state['admin_token']}"},
        timeout=5,
    )
    response.raise_for_status()
    faults: dict[str, Any] = response.json()["faults"]
    return faults
