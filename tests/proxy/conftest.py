"""Fixtures: the real proxy (``stampede proxy`` in its own process) between the test and two
real upstreams — the toolbox (LLM + tools) and ``upstream.py`` — all on free 127.0.0.1 ports.

The processes live for the module; every test starts and ends with no fault set.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from stampede import procs

TOOLBOX_TOKEN = "toolbox-token"


@dataclass(frozen=True)
class Running:
    url: str
    proc: procs.Proc
    admin_token: str = ""

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}


def start_upstream(log: Path, *uvicorn_args: str, port: int = 0) -> Running:
    """``tests.proxy.upstream`` under uvicorn on ``port`` (a free one when 0), ready."""
    port = port or procs.free_port()
    address = ("--host", procs.LOCALHOST, "--port", str(port))
    app = "tests.proxy.upstream:app"
    command = procs.uvicorn_command(app, *address, "--no-access-log", *uvicorn_args)
    proc = procs.spawn(command, log)
    url = f"http://{procs.LOCALHOST}:{port}"
    procs.wait_http_ok(f"{url}/healthz", proc, what="test upstream")
    return Running(url, proc)


def start_proxy(log: Path, upstreams: dict[str, str], token: str, *args: str) -> Running:
    """``stampede proxy`` on a free port with ``upstreams`` (token in its environment), ready."""
    port = procs.free_port()
    proc = procs.spawn_proxy(port, log, token, upstreams, *args)
    procs.ensure_ready(proc, procs.proxy_ready(port), "proxy")
    return Running(f"http://{procs.LOCALHOST}:{port}", proc, token)


@pytest.fixture(scope="module")
def toolbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    port = procs.free_port()
    log = tmp_path_factory.mktemp("toolbox") / "toolbox.log"
    proc = procs.start_toolbox(port, log, TOOLBOX_TOKEN)
    yield Running(f"http://{procs.LOCALHOST}:{port}", proc, TOOLBOX_TOKEN)
    procs.stop(proc)


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    running = start_upstream(tmp_path_factory.mktemp("upstream") / "upstream.log")
    yield running
    procs.stop(running.proc)


@pytest.fixture(scope="module")
def proxy(
    tmp_path_factory: pytest.TempPathFactory, toolbox: Running, upstream: Running
) -> Iterator[Running]:
    upstreams = {
        "llm": f"{toolbox.url}/v1",
        "tool:get_logs": f"{toolbox.url}/tools/get_logs",
        "tool:raw": upstream.url,
    }
    log = tmp_path_factory.mktemp("proxy") / "proxy.log"
    running = start_proxy(log, upstreams, secrets.token_hex(8), "--max-fault-ttl-s", "60")
    yield running
    procs.stop(running.proc)


@pytest.fixture
def http(proxy: Running) -> Iterator[httpx.Client]:
    """A client on the proxy; faults are cleared before and after the test."""
    with httpx.Client(base_url=proxy.url, timeout=10, trust_env=False) as client:
        assert client.delete("/faults", headers=proxy.admin).status_code == 200
        yield client
        assert client.delete("/faults", headers=proxy.admin).status_code == 200


def put_fault(client: httpx.Client, proxy: Running, target: str, **spec: object) -> None:
    response = client.put(f"/faults/{target}", json={"ttl_s": 30, **spec}, headers=proxy.admin)
    assert response.status_code == 200, response.text
