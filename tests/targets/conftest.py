"""Fixtures for the target tests: a tiny agent and a toolbox, real processes on free ports."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from faults.client import FaultClient
from stampede import procs
from tests.conftest import Server

REPO = Path(__file__).resolve().parents[2]
AGENT_APP = "tests.targets.agent_app:app"

StartAgent = Callable[..., Server]


@pytest.fixture
def start_agent(tmp_path: Path) -> Iterator[StartAgent]:
    """``start_agent(readyz="ok", ready_after_s=0, wait=True)``: the tiny agent on a free port.

    With ``wait`` it returns once ``/`` answers; every agent started is stopped by PID after.
    """
    started: list[procs.Proc] = []

    def start(readyz: str = "ok", ready_after_s: float = 0.0, wait: bool = True) -> Server:
        port = procs.free_port()
        cmd = procs.uvicorn_command(
            AGENT_APP, "--host", procs.LOCALHOST, "--port", str(port), "--no-access-log"
        )
        env = {"AGENT_READYZ": readyz, "AGENT_READY_AFTER_S": str(ready_after_s)}
        log = tmp_path / f"agent-{port}.log"
        url = f"http://{procs.LOCALHOST}:{port}"
        proc = procs.spawn(cmd, log, env=env, cwd=REPO)
        started.append(proc)
        if wait:
            procs.ensure_ready(proc, procs.http_ok(f"{url}/"), "tiny agent", timeout_s=20)
        return Server(url, port, proc)

    yield start
    for proc in started:
        procs.stop(proc)


@pytest.fixture(scope="module")
def fault_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real toolbox (its fault API) for the module, stopped by PID."""
    port = procs.free_port()
    token = secrets.token_hex(8)
    log = tmp_path_factory.mktemp("fault-api") / "toolbox.log"
    proc = procs.start_toolbox(port, log, token)
    yield Server(f"http://{procs.LOCALHOST}:{port}", port, proc, token)
    procs.stop(proc)


@pytest.fixture
def faults(fault_api: Server) -> Iterator[FaultClient]:
    """A client of `fault_api`; no fault is set before or after the test."""
    client = FaultClient(fault_api.url, fault_api.admin_token, timeout_s=3.0)
    client.clear_all()
    yield client
    client.clear_all()
