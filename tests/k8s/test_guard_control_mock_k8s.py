"""The kube-context guard control, end to end (`chaos --no-version-check run`), MOCKED k8s API.

A tiny HTTP server on 127.0.0.1 stands in for the API server (and for the agent and toolbox
URLs) and records every request. Every kind experiment is run for real (`chaos
--no-version-check run`) with a kubeconfig whose clusters all point at it:

* current context not allow-listed -> zero requests, rollbacks included (they are declared with
  ``rollbacks.strategy: always``), also with ``--hypothesis-strategy after-method-only``;
* the configured ``KUBERNETES_CONTEXT`` not allow-listed -> zero requests;
* an allow-listed context -> the fake server is reached (so the zero above can fail);
* a context switch mid-run does not retarget: the activities keep the pinned context.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.k8s import support

KIND_EXPERIMENTS = sorted(p for p in support.EXPERIMENTS.glob("*.json") if not p.is_symlink())


class Recorder(ThreadingHTTPServer):
    """An HTTP server that records (method, path) of every request and answers 404 quickly."""

    daemon_threads = True

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def take(self) -> list[tuple[str, str]]:
        with self.lock:
            calls, self.calls = self.calls, []
        return calls


class _Handler(BaseHTTPRequestHandler):
    server: Recorder

    def _answer(self) -> None:
        with self.server.lock:
            self.server.calls.append((self.command, self.path))
        body = json.dumps({"kind": "Status", "status": "Failure", "code": 404}).encode()
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the calls are recorded, not logged."""


@pytest.fixture(scope="module")
def fake_api() -> Iterator[Recorder]:
    server = Recorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _kubeconfig(path: Path, url: str, current: str) -> Path:
    """A kubeconfig with contexts prod, kind-stampede and kind-other, all served by ``url``."""
    names = ["prod", "kind-stampede", "kind-other"]
    data = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": current,
        "clusters": [{"name": n, "cluster": {"server": url}} for n in names],
        "users": [{"name": n, "user": {"token": "fake"}} for n in names],
        "contexts": [{"name": n, "context": {"cluster": n, "user": n}} for n in names],
    }
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _env(kubeconfig: Path, url: str, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KUBERNETES_", "STAMPEDE_")) and k != "CHAOSTOOLKIT_IN_POD"
    }
    env.update(
        PYTHONPATH=str(support.REPO),
        KUBECONFIG=str(kubeconfig),
        STAMPEDE_AGENT_URL=url,
        STAMPEDE_TOOLBOX_URL=url,
        STAMPEDE_TOOLBOX_TOKEN="fake",
        NO_PROXY="*",
    )
    env.update(extra)
    return env


def _chaos_run(
    experiment: Path, cwd: Path, env: dict[str, str], *extra: str, timeout: float = 120
) -> dict[str, Any]:
    """`chaos --no-version-check run` of one experiment; returns its journal."""
    journal = cwd / f"{experiment.stem}{'-'.join(extra)}.journal.json"
    exe = Path(sys.executable).with_name("chaos")
    proc = subprocess.run(
        [str(exe), "--no-version-check", "--log-file", str(journal.with_suffix(".log")), "run",
         "--journal-path", str(journal), *extra, str(experiment)],
        capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd, env=env,
    )  # fmt: skip
    assert journal.exists(), proc.stdout + proc.stderr
    data = json.loads(journal.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _run_all(cwd: Path, env: dict[str, str], *extra: str) -> dict[str, dict[str, Any]]:
    with ThreadPoolExecutor(max_workers=3) as pool:
        journals = pool.map(lambda p: _chaos_run(p, cwd, env, *extra), KIND_EXPERIMENTS)
        return {p.name: j for p, j in zip(KIND_EXPERIMENTS, journals, strict=True)}


def test_every_kind_experiment_declares_the_guard_control() -> None:
    for path in KIND_EXPERIMENTS:
        controls = json.loads(path.read_text(encoding="utf-8")).get("controls", [])
        modules = [c["provider"]["module"] for c in controls]
        assert modules[:1] == ["experiments.activities.k8s.guard"], path.name
        assert controls[0].get("automatic", True), path.name


@pytest.mark.parametrize(
    ("current", "configured", "strategy"),
    [
        ("prod", None, None),
        ("prod", None, "after-method-only"),
        ("kind-stampede", "prod", None),
    ],
    ids=["current-prod", "current-prod-after-method-only", "configured-prod"],
)
def test_mocked_k8s_refused_context_makes_zero_api_calls(
    fake_api: Recorder, tmp_path: Path, current: str, configured: str | None,
    strategy: str | None,
) -> None:  # fmt: skip
    kubeconfig = _kubeconfig(tmp_path / "kubeconfig", fake_api.url, current)
    extra = {"KUBERNETES_CONTEXT": configured} if configured else {}
    env = _env(kubeconfig, fake_api.url, **extra)
    args = ("--hypothesis-strategy", strategy) if strategy else ()
    fake_api.take()
    journals = _run_all(tmp_path, env, *args)
    assert fake_api.take() == []
    for name, journal in journals.items():
        assert journal["status"] == "interrupted", name
        assert journal["run"] == [] and journal.get("rollbacks", []) == [], name
        assert journal["steady_states"]["before"] is None, name


def test_mocked_k8s_allowed_context_reaches_the_api(fake_api: Recorder, tmp_path: Path) -> None:
    """The same run on an allow-listed context does call the (fake) API: the test can fail."""
    kubeconfig = _kubeconfig(tmp_path / "kubeconfig", fake_api.url, "kind-stampede")
    env = _env(kubeconfig, fake_api.url)
    fake_api.take()
    journal = _chaos_run(support.EXPERIMENTS / "redis-outage.json", tmp_path, env)
    calls = fake_api.take()
    assert any(path.startswith("/apis/apps/v1/namespaces/stampede") for _, path in calls), calls
    assert journal["status"] != "interrupted"
    assert journal["rollbacks"], "rollbacks: strategy always, allowed context"


def test_mocked_k8s_context_switch_mid_run_does_not_retarget(
    fake_api: Recorder, tmp_path: Path
) -> None:
    """The guard pins the vetted context: switching the kubeconfig mid-run changes nothing.

    An experiment's first activity rewrites the user's kubeconfig so that its current context is
    ``prod`` and ``kind-stampede`` points elsewhere (port 9, nothing listens); every later call
    still reaches the pinned cluster, and the guard's re-check still passes.
    """
    kubeconfig = _kubeconfig(tmp_path / "kubeconfig", fake_api.url, "kind-stampede")
    switched = yaml.safe_load(kubeconfig.read_text(encoding="utf-8"))
    switched["current-context"] = "prod"
    for cluster in switched["clusters"]:
        cluster["cluster"]["server"] = "http://127.0.0.1:9"
    switch = tmp_path / "switched.yaml"
    switch.write_text(yaml.safe_dump(switched), encoding="utf-8")
    experiment = json.loads((support.EXPERIMENTS / "redis-outage.json").read_text())
    experiment["steady-state-hypothesis"]["probes"].insert(0, {
        "type": "probe", "name": "switch-context", "tolerance": 0,
        "provider": {"type": "process", "path": "cp", "arguments": [str(switch), str(kubeconfig)]},
    })  # fmt: skip
    path = tmp_path / "switching.json"
    path.write_text(json.dumps(experiment), encoding="utf-8")
    env = _env(kubeconfig, fake_api.url)
    fake_api.take()
    journal = _chaos_run(path, tmp_path, env)
    assert yaml.safe_load(kubeconfig.read_text())["current-context"] == "prod"
    assert journal["status"] != "interrupted"
    api = [p for _, p in fake_api.take() if p.startswith("/apis/")]
    rollback_calls = [r for r in journal["rollbacks"] if r["activity"]["type"] == "action"]
    assert api and rollback_calls
    for run in journal["rollbacks"]:
        assert "connection refused" not in json.dumps(run).lower(), run
