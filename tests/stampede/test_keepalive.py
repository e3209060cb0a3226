"""Keep-alive latency through N uvicorn workers: the --fd socket with TCP_NODELAY matters.

uvicorn ``--workers N`` binds its own socket with protocol 0, so the asyncio loop never sets
TCP_NODELAY on accepted connections: a keep-alive request then waits ~40 ms (Nagle + delayed
ACK). The stack hands uvicorn a listening socket with TCP_NODELAY set (procs.listen_socket). These
tests use a trivial ASGI app so the numbers measure the transport, not the app. uvloop (the
default loop, with uvicorn[standard]) sets TCP_NODELAY itself, so the contrast is asserted with
``--loop asyncio`` (with uvloop plain ``--workers 2`` measured ~0.5-1 ms here); the real
agent's p50 through the stack, default loop, is asserted in test_stack_lifecycle.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from stampede import procs, stack
from tests.stampede.helpers import REPO, keepalive_p50_ms

TINY_APP = "tests.stampede.tiny_app:app"


def _plain_workers_p50(tmp_path: Path, loop: str) -> float:
    """p50 against ``uvicorn --host --port --workers 2`` (no fd trick)."""
    port = procs.free_port()
    url = f"http://{procs.LOCALHOST}:{port}/healthz"
    cmd = procs.uvicorn_command(
        TINY_APP, "--host", procs.LOCALHOST, "--port", str(port),
        "--workers", "2", "--loop", loop, "--no-access-log",
    )  # fmt: skip
    log = tmp_path / f"plain-{loop}.log"
    proc = procs.start(cmd, log, procs.http_ok(url), "plain uvicorn --workers 2", cwd=REPO)
    try:
        return keepalive_p50_ms(url, requests=60)
    finally:
        procs.stop(proc)


@contextlib.contextmanager
def _tiny_stack(state_dir: Path, loop: str) -> Iterator[stack.StackState]:
    """The local stack with the trivial app as its agent (2 workers, the stack's --fd socket)."""
    config = stack.StackConfig(state_dir=state_dir, agent_app=TINY_APP, loop=loop)
    state = stack.up(config)
    try:
        yield state
    finally:
        stack.down(state_dir)


def test_fd_socket_keeps_keepalive_fast_where_plain_workers_are_not(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    record_property: Callable[[str, object], None],
) -> None:
    """asyncio loop: p50 < 15 ms through the stack, >= 30 ms with plain ``--workers 2``."""
    monkeypatch.chdir(REPO)  # the app is imported from the current directory, as uvicorn does
    with _tiny_stack(tmp_path / "stack", "asyncio") as state:
        with_fd = keepalive_p50_ms(f"{state.agent.url}/healthz")
    plain = _plain_workers_p50(tmp_path, "asyncio")
    record_property("keepalive_p50_ms_fd_asyncio", round(with_fd, 2))
    record_property("keepalive_p50_ms_plain_asyncio", round(plain, 2))
    print(f"keep-alive p50 (asyncio loop): --fd socket {with_fd:.2f} ms, plain {plain:.2f} ms")
    assert with_fd < 15.0, f"keep-alive p50 {with_fd:.1f} ms through the stack's --fd socket"
    assert plain >= 30.0, f"plain --workers 2 p50 {plain:.1f} ms: no Nagle floor any more?"
