"""Fixtures for the agent tests: one real toolbox and one real Redis per session (faults are
cleared after every test), and an in-process agent app (real lifespan) talking to them."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest

from stampede import procs
from tests.conftest import Server


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def shared_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A redis-server for the whole session (tests that stop Redis start their own)."""
    port = procs.free_port()
    proc = procs.start_redis_server(port, tmp_path_factory.mktemp("agent-redis"))
    yield Server(f"redis://{procs.LOCALHOST}:{port}/0", port, proc)
    procs.stop(proc)


@pytest.fixture(scope="session")
def shared_toolbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The real toolbox under uvicorn for the whole session."""
    port = procs.free_port()
    token = secrets.token_hex(8)
    log = tmp_path_factory.mktemp("agent-toolbox") / "toolbox.log"
    proc = procs.start_toolbox(port, log, token)
    yield Server(f"http://{procs.LOCALHOST}:{port}", port, proc, token)
    procs.stop(proc)


@pytest.fixture
def toolbox(shared_toolbox: Server) -> Iterator[Server]:
    """The shared toolbox with no fault on, before and after the test."""
    headers = {"Authorization": f"Bearer {shared_toolbox.admin_token}"}
    httpx.delete(
        f"{shared_toolbox.url}/faults", headers=headers, timeout=5, trust_env=False
    ).raise_for_status()
    yield shared_toolbox
    httpx.delete(
        f"{shared_toolbox.url}/faults", headers=headers, timeout=5, trust_env=False
    ).raise_for_status()
