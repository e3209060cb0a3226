"""The local stack with the real agent (2 workers), as the suite and the chaos activities use it.

One stack serves the whole module (an agent start costs several CPU-seconds on 2 cores). Each
test leaves it healthy, except the last, which stops it the hard way and checks ``down``. Any
test also runs alone: it only needs a running stack.
"""

from __future__ import annotations

import signal
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import redis

from stampede import procs, stack
from stampede.stack.shutdown import shutdown_budget
from target_agent.toolbox.catalogue import catalogue
from tests.stampede.helpers import gone, keepalive_p50_ms, snapshot, wait_until

pytestmark = pytest.mark.timeout(240)

READY_S = 90.0  # a worker (re)start imports LangGraph: seconds of CPU on a busy 2-core box


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[stack.StackState]:
    state_dir = tmp_path_factory.mktemp("stack")
    state = stack.up(stack.StackConfig(state_dir=state_dir, workers=2))
    try:
        yield state
    finally:
        stack.down(state_dir)


def _investigate(client: httpx.Client, url: str, index: int = 0) -> httpx.Response:
    incident = catalogue()[index % len(catalogue())]
    return client.post(f"{url}/investigate", json=incident.alert())


def _client(timeout_s: float = 30.0) -> httpx.Client:
    return httpx.Client(trust_env=False, timeout=timeout_s)


def _startups(state: stack.StackState) -> int:
    """How many agent workers logged that their application started (uvicorn's line)."""
    return Path(state.agent.log).read_text(errors="replace").count("Application startup complete")


class Traffic:
    """Threads sending requests in a loop until stopped; counts answers and failures."""

    def __init__(self, send: Callable[[httpx.Client, int], httpx.Response], threads: int) -> None:
        self.send = send
        self.ok = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(threads)]

    def _run(self, index: int) -> None:
        with _client() as client:
            n = index
            while not self._stop.is_set():
                n += len(self._threads)
                try:
                    response = self.send(client, n)
                    failure = (
                        None if response.status_code == 200 else f"HTTP {response.status_code}"
                    )
                except httpx.HTTPError as exc:
                    failure = f"{type(exc).__name__}: {exc}"
                with self._lock:
                    if failure:
                        self.failures.append(failure)
                    else:
                        self.ok += 1

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)


def test_up_reports_every_component_ready(running: stack.StackState) -> None:
    report = stack.status(running.path.parent)
    assert report["all_up"], report
    agent = report["components"]["agent"]
    assert agent["workers"]["alive"] == 2
    assert agent["workers"]["pids"] == stack.agent_worker_pids(running)
    assert running.agent.env["AGENT_REPLICA"] == "local"
    assert running.agent.env["AGENT_TOOLBOX_URL"] == running.toolbox.url
    assert running.agent.env["AGENT_REDIS_URL"] == running.redis.client_url
    assert Path(running.agent.env["PROMETHEUS_MULTIPROC_DIR"]).is_dir()
    assert stack.load_state(running.path) == running


def test_redis_refuses_clients_without_the_password_kept_in_the_0600_state_file(
    running: stack.StackState,
) -> None:
    """A random password per stack, in stack.json (0600) and a 0600 redis.conf, never in argv."""
    state, password = running.redis, running.redis.password
    assert stat.S_IMODE(running.path.stat().st_mode) == 0o600
    assert len(password) >= 24 and password in running.path.read_text()
    conf = running.path.parent / "redis" / "redis.conf"
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600
    assert password not in state.url and password not in repr(running)
    assert not any(password in arg for arg in psutil.Process(state.pid).cmdline())

    assert not procs.redis_ping(state.host, state.port)
    for wrong in (None, "not-the-password"):
        anonymous = redis.Redis(host=state.host, port=state.port, password=wrong, socket_timeout=2)
        with pytest.raises(redis.AuthenticationError):
            anonymous.set("stolen", "1")
        anonymous.close()
    client = redis.Redis.from_url(state.client_url, socket_timeout=2)
    assert client.ping() is True
    client.close()
    assert procs.redis_ping(state.host, state.port, password=password)


def test_the_agent_drains_longer_than_a_request_deadline_plus_the_flush(
    running: stack.StackState,
) -> None:
    """The uvicorn option the stack passed is the one computed from the agent's settings."""
    cmdline = psutil.Process(running.agent.pid).cmdline()
    graceful = int(cmdline[cmdline.index("--timeout-graceful-shutdown") + 1])
    assert graceful == shutdown_budget(running.agent.env).graceful_s > 10 + 5


def test_up_again_keeps_the_running_stack(running: stack.StackState) -> None:
    again = stack.up(stack.StackConfig(state_dir=running.path.parent, workers=2))
    assert again == running


def test_an_investigation_is_answered_correctly(running: stack.StackState) -> None:
    incident = catalogue()[0]
    with _client() as client:
        response = client.post(f"{running.agent.url}/investigate", json=incident.alert())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "complete", body
    assert body["root_cause"] == incident.root_cause
    assert response.headers["X-Served-By"] == "local"


def test_keepalive_p50_through_two_workers_is_low(
    running: stack.StackState, record_property: Callable[[str, object], None]
) -> None:
    """No ~40 ms Nagle/delayed-ACK floor on keep-alive connections (the --fd socket)."""
    p50 = keepalive_p50_ms(f"{running.agent.url}/healthz", requests=200)
    record_property("agent_keepalive_p50_ms", round(p50, 2))
    print(f"agent keep-alive p50 through 2 workers: {p50:.2f} ms")
    assert p50 < 15.0, f"keep-alive p50 {p50:.1f} ms (the Nagle floor is ~40 ms)"


def test_a_killed_worker_is_replaced_while_requests_keep_succeeding(
    running: stack.StackState, record_property: Callable[[str, object], None]
) -> None:
    before = stack.agent_worker_pids(running)
    assert len(before) == 2
    victim = before[0]
    started_before = _startups(running)

    def send(client: httpx.Client, n: int) -> httpx.Response:
        if n % 3 == 0:
            return client.get(f"{running.agent.url}/healthz")
        return _investigate(client, running.agent.url, n)

    with Traffic(send, threads=3) as traffic:
        time.sleep(1.0)
        ok_before = traffic.ok
        psutil.Process(victim).send_signal(signal.SIGKILL)
        replaced_s = wait_until(
            lambda: any(pid not in before for pid in stack.agent_worker_pids(running)),
            10,
            "a new worker pid appears",
        )
        serving_s = replaced_s + wait_until(
            lambda: _startups(running) > started_before, READY_S, "the new worker serves"
        )
        assert stack.status(running.path.parent)["all_up"]
        ok_at_recovery = traffic.ok
        time.sleep(1.5)
    record_property("worker_replaced_s", round(replaced_s, 2))
    record_property("worker_serving_s", round(serving_s, 2))
    print(
        f"worker {victim} SIGKILLed: new pid after {replaced_s:.2f} s, serving after "
        f"{serving_s:.2f} s; {traffic.ok} ok, failures {traffic.failures}"
    )
    assert victim not in stack.agent_worker_pids(running)
    assert ok_before > 0 and ok_at_recovery > ok_before and traffic.ok > ok_at_recovery
    # Only a request in flight on the killed worker may fail: at most one per client thread.
    assert len(traffic.failures) <= 3, traffic.failures


def test_redis_restart_keeps_the_port_and_the_agent_recovers(running: stack.StackState) -> None:
    old = stack.load_state(running.path).redis
    assert stack.stop_redis(running)
    assert not procs.redis_ping(old.host, old.port, password=old.password)
    assert stack.status(running.path.parent)["components"]["redis"]["alive"] is False
    with _client() as client:
        during = _investigate(client, running.agent.url, 1)
        assert during.status_code == 200, "the agent answers while Redis is down"

        new = stack.start_redis(running)
        assert (new.redis.port, new.redis.url) == (old.port, old.url)
        assert new.redis.pid != old.pid
        assert stack.load_state(running.path).redis == new.redis
        assert procs.redis_ping(new.redis.host, new.redis.port, password=old.password)
        assert new.redis.password == old.password, "the agent's URL keeps working"
        assert stack.start_redis(new) == new, "start_redis is a no-op when Redis runs"

        after = _investigate(client, running.agent.url, 2)
        assert after.status_code == 200
        for record in (during.json(), after.json()):
            url = f"{running.agent.url}/investigations/{record['investigation_id']}"
            wait_until(lambda u=url: client.get(u).status_code == 200, 15, f"{url} is stored")
    assert stack.status(running.path.parent)["all_up"]


def test_sigterm_drains_in_flight_work_and_down_cleans_up_after_a_crash(
    running: stack.StackState,
) -> None:
    """Slow requests in flight all complete after SIGTERM; after kill -9 of the toolbox too,
    ``down`` leaves none of the recorded processes behind."""
    state = stack.load_state(running.path)
    recorded = snapshot([state.redis.pid, state.toolbox.pid, state.agent.pid])
    recorded += snapshot(stack.agent_worker_pids(state))
    headers = {"Authorization": f"Bearer {state.admin_token}"}
    fault = httpx.put(
        f"{state.toolbox.url}/faults/tools",
        json={"latency_ms": 1500, "ttl_s": 30},
        headers=headers,
        timeout=5,
        trust_env=False,
    )
    assert fault.status_code == 200, fault.text

    results: list[Any] = [None] * 4

    def call(i: int) -> None:
        with _client() as client:
            try:
                results[i] = _investigate(client, state.agent.url, i).status_code
            except httpx.HTTPError as exc:
                results[i] = f"{type(exc).__name__}: {exc}"

    threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.7)  # planner done, tools sleeping 1.5 s: all four in flight
    assert all(result is None for result in results), "the requests finished too early"
    assert state.agent.proc.send_signal(signal.SIGTERM)
    for thread in threads:
        thread.join(timeout=60)
    assert results == [200, 200, 200, 200]
    wait_until(lambda: not state.agent.proc.alive(), 30, "the agent master exits")

    assert state.toolbox.proc.send_signal(signal.SIGKILL)  # crash
    stack.down(running.path.parent)
    assert not running.path.exists()
    left = [pid for pid, created in recorded if not gone(pid, created)]
    assert left == [], f"processes still running after down: {left}"
