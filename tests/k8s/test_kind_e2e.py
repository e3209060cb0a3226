"""End to end on a real kind cluster: up, deploy, run the kind suite, check the run directory.

These tests need `kind`, `kubectl` and a running Docker engine. Where any is missing they skip
and say which - they never pass without a cluster. They reuse a cluster named `stampede` if one
exists (and leave it), else create it and delete it afterwards. Minutes, not seconds:

    .venv/bin/pytest -m kind tests/k8s/test_kind_e2e.py
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from stampede import kind
from tests.k8s import support

pytestmark = [pytest.mark.kind, pytest.mark.slow]

SUITE_TIMEOUT_S = 1800


def _missing() -> str | None:
    for tool in ("kind", "kubectl", "docker"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not on PATH"
    return kind.docker_engine_problem()


def _stampede(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stampede.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=support.REPO,
    )


@pytest.fixture(scope="module")
def cluster() -> Iterator[kind.Endpoints]:
    why = _missing()
    if why:
        pytest.skip(f"kind end-to-end needs kind, kubectl and a running Docker engine: {why}")
    existed = kind.cluster_exists(kind.CLUSTER_NAME)
    try:
        up = _stampede("kind", "up", timeout=900)
        assert up.returncode == 0, up.stdout + up.stderr
        deploy = _stampede("kind", "deploy", timeout=2400)
        assert deploy.returncode == 0, deploy.stdout + deploy.stderr
        yield kind.endpoints()
    finally:
        if not existed:
            _stampede("kind", "down", timeout=600)


def _suite(run_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return _stampede(
        "suite",
        "--target",
        "kind",
        "--profile",
        "smoke",
        "--slo",
        str(support.REPO / "slo.yaml"),
        "--runs-dir",
        str(run_dir.parent),
        "--run-id",
        run_dir.name,
        *extra,
        timeout=SUITE_TIMEOUT_S,
    )


def _samples(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "samples.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.timeout(SUITE_TIMEOUT_S + 3600)
def test_kind_cluster_serves_the_agent_through_the_node_port(cluster: kind.Endpoints) -> None:
    import httpx

    assert cluster.agent_url == "http://127.0.0.1:18000"
    assert httpx.get(f"{cluster.agent_url}/readyz", timeout=5, trust_env=False).status_code == 200
    faults = httpx.get(
        f"{cluster.toolbox_url}/faults",
        headers={"Authorization": f"Bearer {cluster.toolbox_token}"},
        timeout=5,
        trust_env=False,
    )
    assert faults.status_code == 200, faults.text
    status = _stampede("kind", "status", "--json", timeout=120)
    assert status.returncode == 0, status.stdout + status.stderr
    report = json.loads(status.stdout)
    assert report["deployments"]["agent"]["ready"] >= 3
    assert report["hpa"]["agent"]["desired"] >= 3


@pytest.mark.timeout(SUITE_TIMEOUT_S + 3600)
def test_smoke_suite_on_kind_passes_and_records_replicas(
    cluster: kind.Endpoints, tmp_path: Path
) -> None:
    run_dir = tmp_path / "runs" / f"kind-e2e-{int(time.time())}"
    proc = _suite(run_dir)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    run = json.loads((run_dir / "run.json").read_text())
    assert run["target"] == "kind"
    for experiment in run["experiments"]:
        journal = run_dir / experiment["journal"]
        assert journal.is_file(), journal
        assert json.loads(journal.read_text())["status"] == "completed", experiment["name"]
    replicas = [row for row in _samples(run_dir) if row["metric"] == "replicas"]
    assert {row["label"] for row in replicas} >= {"agent", "hpa/agent", "redis", "toolbox"}


@pytest.mark.timeout(SUITE_TIMEOUT_S)
@pytest.mark.parametrize("experiment", ["rolling-update", "node-drain"])
def test_cluster_experiments_run_clean_without_load(
    cluster: kind.Endpoints, tmp_path: Path, experiment: str
) -> None:
    """Chaos Toolkit on the Kubernetes mechanics alone (the suite adds load and the SLO gate)."""
    import os

    journal = tmp_path / "journal.json"
    proc = subprocess.run(
        [
            str(Path(sys.executable).with_name("chaos")),
            "--no-version-check",
            "run",
            "--journal-path",
            str(journal),
            str(support.EXPERIMENTS / f"{experiment}.json"),
        ],
        capture_output=True,
        text=True,
        timeout=SUITE_TIMEOUT_S,
        check=False,
        cwd=support.REPO,
        env={**os.environ, **kind.chaos_env(cluster)},
    )
    result = json.loads(journal.read_text())
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert result["status"] == "completed" and result["deviated"] is False
    failed = [run["activity"]["name"] for run in result["run"] if run["status"] != "succeeded"]
    assert not failed, failed
    status = kind.status()
    assert all(node["schedulable"] for node in status["nodes"]), "a drained node was left cordoned"
