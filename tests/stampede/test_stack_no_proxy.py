"""The harness's HTTP clients to the local stack ignore HTTP_PROXY / HTTPS_PROXY / ALL_PROXY.

A proxy from the environment would carry the fault API's bearer token (and every probe) to
whatever listens there. Here the proxy variables point at a local socket that records every
connection; the harness's fault-API calls and probes must reach the real stack and the
recorder must see none. A client that does honour the variables is caught by the same
recorder (the test can fail).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from experiments.activities.process.probes import agent_is_ready
from experiments.activities.slo.probes import investigations_meet_slo
from experiments.activities.toolbox.actions import clear_fault, inject_fault
from faults.client import FaultClient
from stampede import procs, stack
from stampede.suite.probe import InvestigationProbe
from target_agent.toolbox.catalogue import catalogue

pytestmark = pytest.mark.timeout(240)

PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


class RecordingProxy:
    """A listening socket that accepts, records and closes every connection made to it."""

    def __init__(self) -> None:
        self.sock = socket.create_server((procs.LOCALHOST, 0))
        self.sock.settimeout(0.2)
        self.url = f"http://{procs.LOCALHOST}:{self.sock.getsockname()[1]}"
        self.connections: list[tuple[str, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, peer = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections.append(peer)
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[stack.StackState]:
    state_dir = tmp_path_factory.mktemp("stack")
    state = stack.up(stack.StackConfig(state_dir=state_dir, workers=1))
    try:
        yield state
    finally:
        stack.down(state_dir)


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingProxy]:
    """Every proxy variable points at a `RecordingProxy`; NO_PROXY exempts nothing."""
    proxy = RecordingProxy()
    for name in PROXY_VARIABLES:
        monkeypatch.setenv(name, proxy.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    yield proxy
    proxy.close()


def test_a_client_that_honours_the_variables_is_caught(
    running: stack.StackState, recorder: RecordingProxy
) -> None:
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{running.toolbox.url}/healthz", timeout=3)  # trust_env defaults to True
    time.sleep(0.3)
    assert len(recorder.connections) == 1


def test_fault_api_calls_and_probes_reach_the_stack_not_the_proxy(
    running: stack.StackState, recorder: RecordingProxy
) -> None:
    state_file = str(running.path)
    faults = FaultClient(running.toolbox.url, running.admin_token)
    assert faults.set("llm", {"latency_ms": 1, "ttl_s": 30})["latency_ms"] == 1
    assert faults.clear("llm") == ["llm"]
    inject_fault("tool:get_logs", latency_ms=1, ttl_s=30, state_file=state_file)
    assert clear_fault("tool:get_logs", state_file=state_file)["cleared"] == ["tool:get_logs"]

    assert stack.status(running.path.parent)["all_up"] is True
    assert procs.http_status(f"{running.agent.url}/readyz") == 200
    assert agent_is_ready(state_file=state_file) is True
    window = investigations_meet_slo(requests=2, concurrency=1, state_file=state_file)
    assert window["met"] is True, window

    probe = InvestigationProbe(running.agent.url, [catalogue()[0].alert()], "no-proxy").start()
    time.sleep(1.5)
    probe.stop()
    checks = probe.verify()
    assert (checks.sampled or 0) >= 1 and checks.lost_investigations == 0, checks

    time.sleep(0.3)
    assert recorder.connections == [], "a harness client went through the proxy"
