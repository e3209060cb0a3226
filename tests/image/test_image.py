"""The image check: build the images and run agent and toolbox containers as the manifests do.

Read-only root, uid/gid 10001, every capability dropped, no privilege escalation, the
manifests' emptyDir paths as tmpfs and their environment (tests/image/podrun.py), host network on
free loopback ports, the project's embedded Redis. Checked: readiness, a reference investigation
answered with the catalogue's root cause, /metrics in prometheus-client multiprocess mode, and
SIGTERM draining an in-flight investigation. Sizes and build times are printed at the end.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import psycopg
import pytest

from faults.client import FaultClient
from stampede import procs
from stampede.cases.reference import reference_cases
from tests import pgserver
from tests.image import podrun
from tests.image.conftest import (
    AGENT_LIMIT_MB,
    REPORT,
    SLIM,
    Container,
    docker,
    image_size,
)
from tests.k8s import support

TOKEN = secrets.token_hex(12)
PG_PASSWORD = secrets.token_urlsafe(12)
#: The Secrets `stampede kind deploy` creates (random values, as there).
SECRETS = {("toolbox-admin", "token"): TOKEN, ("checkpoint-postgres", "password"): PG_PASSWORD}


class _Recorder:
    """A loopback HTTP server answering 503 to anything (the agent/toolbox a chaos pod sees)."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_PUT = do_DELETE = do_POST = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer((procs.LOCALHOST, 0), Handler)
        self.address = f"{procs.LOCALHOST}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _wait_http(container: Container, path: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if procs.http_status(container.url + path) == 200:
            return
        state = docker("inspect", "--format", "{{.State.Running}}", container.name).stdout
        assert state.strip() == "true", f"{container.name} exited:\n{container.logs()}"
        time.sleep(0.3)
    raise AssertionError(f"{container.url}{path} not 200 in {timeout_s} s:\n{container.logs()}")


def _start(
    objects: list[dict[str, Any]], deployment: str, image: str, endpoints: dict[str, str]
) -> Container:
    """`docker run` the Deployment's container as its manifest says, on a free loopback port."""
    port = procs.free_port()
    spec = podrun.pod_run(
        objects, deployment, port=port, endpoints=endpoints,
        secrets=SECRETS, pod_name=f"{deployment}-imagecheck",
    )  # fmt: skip
    assert spec.image == image, f"{deployment} runs {spec.image}, the build tagged {image}"
    name = f"stampede-imagecheck-{deployment}-{port}"
    docker("run", "--detach", "--name", name, *spec.args, spec.image, *spec.command)
    container = Container(name, f"http://{procs.LOCALHOST}:{port}", spec.args)
    path = "/readyz" if deployment == "agent" else "/healthz"
    try:
        _wait_http(container, path)
    except AssertionError:
        container.remove()
        raise
    return container


@pytest.fixture(scope="module")
def toolbox(images: dict[str, str], rendered_kind: list[dict[str, Any]]) -> Iterator[Container]:
    container = _start(rendered_kind, "toolbox", images["agent"], {})
    yield container
    container.remove()


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """The manifests' PostgreSQL (user agent, database checkpoints, the Secret's password)."""
    problem = pgserver.why_not()
    if problem:
        pytest.skip(f"the agent's checkpoints need PostgreSQL on kind: {problem}")
    with pgserver.postgres_server("agent", PG_PASSWORD, "checkpoints") as (_dsn, port):
        yield f"{procs.LOCALHOST}:{port}"


def _agent(images: dict[str, str], objects: list[dict[str, Any]], toolbox: Container,
           redis: str, postgres: str) -> Container:  # fmt: skip
    endpoints = {
        "toolbox:8100": toolbox.url.removeprefix("http://"),
        "redis:6379": redis,
        "postgres-0.postgres:5432": postgres,
    }
    return _start(objects, "agent", images["agent"], endpoints)


@pytest.fixture(scope="module")
def agent(
    images: dict[str, str], rendered_kind: list[dict[str, Any]], toolbox: Container,
    redis_server: str, postgres: str,
) -> Iterator[Container]:  # fmt: skip
    container = _agent(images, rendered_kind, toolbox, redis_server, postgres)
    yield container
    container.remove()


def test_the_agent_image_is_slim(images: dict[str, str], base_image: str) -> None:
    size = image_size(images["agent"])
    added = size - image_size(base_image)
    REPORT["agent_added_over_base_mb"] = round(added / 1e6, 1)
    if base_image == SLIM:
        assert size <= AGENT_LIMIT_MB * 1e6, REPORT
    else:
        # On the stand-in, what the build adds must fit under the limit with room for a base;
        # the base itself is Debian's python3 here, not python:3.11-slim.
        assert added <= (AGENT_LIMIT_MB - 150) * 1e6, REPORT


def test_the_agent_image_carries_no_harness(images: dict[str, str]) -> None:
    probe = "import importlib.util as u; print([m for m in ('pandas', 'plotly', 'locust', " \
        "'chaoslib', 'kubernetes') if u.find_spec(m)])"  # fmt: skip
    out = docker("run", "--rm", "--network", "host", images["agent"], "python", "-c", probe)
    assert out.stdout.strip() == "[]"


def test_the_harness_image_runs_chaos_and_locust_read_only(images: dict[str, str]) -> None:
    flags = ["--rm", "--network", "host", "--read-only", "--user", "10001:10001",
             "--cap-drop", "ALL", "--tmpfs", "/tmp"]  # fmt: skip
    chaos = docker("run", *flags, images["harness"], "chaos", "--no-version-check", "--help")
    assert "Usage" in chaos.stdout
    locust = docker("run", *flags, images["harness"], "locust", "--version")
    assert "locust" in (locust.stdout + locust.stderr).lower()


def test_the_chaos_job_runs_an_experiment_with_a_read_only_root(images: dict[str, str]) -> None:
    """k8s/chaos's Job container as its manifest runs it: the log and journal land in the
    emptyDir, not the read-only /app. No API server here, so its activities fail (in-cluster
    config is missing); the journal records that."""
    objects = support.render(support.K8S / "overlays" / "kind-chaos")
    recorder = _Recorder()
    endpoints = {"agent:8000": recorder.address, "toolbox:8100": recorder.address}
    spec = podrun.pod_run(
        objects, "chaos-run", port=None, endpoints=endpoints, kind="Job",
        secrets={("toolbox-admin", "token"): TOKEN},
    )  # fmt: skip
    assert spec.image == images["harness"]
    name = f"stampede-imagecheck-chaos-{procs.free_port()}"
    try:
        proc = docker("run", "--name", name, *spec.args, spec.image, *spec.command,
                      timeout=300, check=False)  # fmt: skip
        out = proc.stdout + proc.stderr
        journal = json.loads(proc.stdout[proc.stdout.index('{\n  "chaoslib-version"') :])
        assert journal["status"] in {"completed", "failed", "aborted"}, journal["status"]
        # The log and the journal were written (the tmpfs is gone with the container).
        assert "Read-only file system" not in out and "Permission denied" not in out, out
        assert journal["experiment"]["title"], journal
    finally:
        recorder.stop()
        docker("rm", "--force", name, check=False)


def test_containers_run_as_the_manifests_say(agent: Container, toolbox: Container) -> None:
    for container in (agent, toolbox):
        assert {"--read-only", "--cap-drop=ALL", "--user", "10001:10001"} <= set(container.run_args)
        shown = "{{.Config.User}} {{.HostConfig.ReadonlyRootfs}}"
        config = docker("inspect", "--format", shown, container.name)
        assert config.stdout.split() == ["10001:10001", "true"]
    whoami = docker("exec", agent.name, "sh", "-c", "id -u; touch /app/x 2>&1 || true")
    assert whoami.stdout.splitlines()[0] == "10001"
    assert "Read-only file system" in whoami.stdout


def test_an_investigation_is_answered_with_the_true_root_cause(agent: Container) -> None:
    case = reference_cases()[0]
    response = httpx.post(f"{agent.url}/investigate", json=dict(case.input), timeout=30,
                          trust_env=False)  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["root_cause"]) == ("complete", case.expect.label), body
    assert body["replica"] == "agent-imagecheck"


def test_the_agent_image_has_the_postgres_checkpointer_with_a_bundled_libpq(
    images: dict[str, str],
) -> None:
    probe = "import langgraph.checkpoint.postgres.aio, psycopg; print(psycopg.pq.__impl__)"
    out = docker("run", "--rm", "--network", "host", images["agent"], "python", "-c", probe)
    assert out.stdout.strip() == "binary", out.stdout


def test_an_async_investigation_checkpoints_in_postgres_and_completes(
    agent: Container, postgres: str
) -> None:
    """The manifests' backend (postgres, DSN from the Secret) really serves the job worker."""
    case = reference_cases()[2]
    response = httpx.post(f"{agent.url}/investigations", json=dict(case.input), timeout=30,
                          trust_env=False)  # fmt: skip
    assert response.status_code == 202, response.text
    location = response.headers["Location"]
    deadline = time.monotonic() + 60
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = httpx.get(f"{agent.url}{location}", timeout=10, trust_env=False).json()
        if body.get("status") in ("complete", "degraded", "failed"):
            break
        time.sleep(0.3)
    assert body.get("status") == "complete", body
    host, port = postgres.split(":")
    dsn = f"postgresql://agent:{PG_PASSWORD}@{host}:{port}/checkpoints"
    with psycopg.connect(dsn) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables").fetchall()}
    assert "checkpoints" in tables, tables


def test_metrics_are_served_in_multiprocess_mode(agent: Container) -> None:
    httpx.post(f"{agent.url}/investigate", json=dict(reference_cases()[1].input), timeout=30,
               trust_env=False)  # fmt: skip
    text = httpx.get(f"{agent.url}/metrics", timeout=10, trust_env=False).text
    assert 'agent_requests_total{outcome="complete"}' in text, text[:2000]
    files = docker("exec", agent.name, "sh", "-c", "ls /run/prometheus-multiproc").stdout.split()
    assert any(f.endswith(".db") for f in files), files


def test_sigterm_drains_an_in_flight_investigation(
    images: dict[str, str], rendered_kind: list[dict[str, Any]], toolbox: Container,
    redis_server: str, postgres: str,
) -> None:  # fmt: skip
    container = _agent(images, rendered_kind, toolbox, redis_server, postgres)
    faults = FaultClient(toolbox.url, TOKEN)
    try:
        faults.set("tools", {"latency_ms": 1500, "ttl_s": 60})
        result: dict[str, Any] = {}

        def call() -> None:
            response = httpx.post(f"{container.url}/investigate",
                                  json=dict(reference_cases()[0].input), timeout=40,
                                  trust_env=False)  # fmt: skip
            result["status"], result["body"] = response.status_code, response.json()

        thread = threading.Thread(target=call)
        thread.start()
        time.sleep(1.0)  # the first tool call (1.5 s) is under way
        docker("kill", "--signal", "TERM", container.name)
        thread.join(45)
        assert result.get("status") == 200, (result, container.logs())
        assert result["body"]["status"] in {"complete", "degraded"}, result
        waited = docker("wait", container.name, timeout=40).stdout.strip()
        assert waited == "0", container.logs()
    finally:
        faults.clear_all()
        container.remove()
