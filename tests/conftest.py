"""Shared fixtures: a real toolbox process on a free 127.0.0.1 port, stopped by PID."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from stampede import procs


@dataclass(frozen=True)
class Server:
    """A server process a test started: where it listens and how to stop it."""

    url: str
    port: int
    proc: procs.Proc
    admin_token: str = ""


@pytest.fixture
def toolbox_server(tmp_path: Path) -> Iterator[Server]:
    """The real toolbox (simulated LLM + tools + fault API) under uvicorn on a free port."""
    port = procs.free_port()
    token = secrets.token_hex(8)
    proc = procs.start_toolbox(port, tmp_path / "toolbox.log", token)
    yield Server(f"http://{procs.LOCALHOST}:{port}", port, proc, token)
    procs.stop(proc)
