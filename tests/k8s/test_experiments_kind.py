"""The kind experiments: `chaos --no-version-check validate` accepts each, and they are shaped
as the kind target needs (the guard first, faults cleared in the method, bounded waits)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.k8s import support

EXPECTED = {
    "pod-kill.json",
    "replica-kill.json",  # the suite profiles' name for the same experiment (a symlink)
    "tool-latency.json",
    "redis-outage.json",
    "rolling-update.json",
    "hpa-scale-out.json",
    "node-drain.json",
    "overload.json",
    "pod-kill-mid-run.json",  # engineer D's (durable investigations)
}


def _chaos(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("chaos")
    env = {**os.environ, "PYTHONPATH": str(support.REPO)}
    # Never phone home: every chaos invocation in this project passes --no-version-check.
    return subprocess.run(
        [str(exe), "--no-version-check", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=cwd,
        env=env,
    )


@pytest.fixture(scope="module")
def validations(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, subprocess.CompletedProcess[str]]:
    """`chaos --no-version-check validate` on every kind experiment, a few at a time."""
    cwd = tmp_path_factory.mktemp("chaos-validate")
    paths = sorted(support.EXPERIMENTS.glob("*.json"))
    with ThreadPoolExecutor(max_workers=3) as pool:
        done = pool.map(lambda p: _chaos("validate", str(p), cwd=cwd), paths)
        return {path.name: proc for path, proc in zip(paths, done, strict=True)}


def test_the_kind_experiments_exist() -> None:
    assert {p.name for p in support.EXPERIMENTS.glob("*.json")} == EXPECTED
    alias = support.EXPERIMENTS / "replica-kill.json"
    assert alias.is_symlink() and alias.resolve().name == "pod-kill.json"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_chaos_validate_accepts_the_experiment(
    validations: dict[str, subprocess.CompletedProcess[str]], name: str
) -> None:
    proc = validations[name]
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "experiment syntax and semantic look valid" in out


def test_chaos_validate_rejects_a_wrong_argument(tmp_path: Path) -> None:
    """Validation imports our activities and binds their arguments: a typo fails."""
    experiment = json.loads((support.EXPERIMENTS / "rolling-update.json").read_text())
    probe = experiment["method"][-1]
    probe["provider"]["arguments"]["timeout_seconds"] = 5
    path = tmp_path / "typo.json"
    path.write_text(json.dumps(experiment))
    proc = _chaos("validate", str(path), cwd=tmp_path)
    assert proc.returncode != 0
    assert "timeout_seconds" in proc.stdout + proc.stderr


def _funcs(section: list[dict[str, Any]]) -> list[str]:
    return [a["provider"].get("func") or a["provider"].get("method", "") for a in section]


@pytest.mark.parametrize(
    ("name", "clears"),
    [
        ("pod-kill.json", "deployment_fully_available"),
        ("tool-latency.json", "DELETE"),
        ("redis-outage.json", "deployment_fully_available"),
        ("rolling-update.json", "rollout_completes_without_unavailable"),
        ("hpa-scale-out.json", "hpa_scales_out_within"),
        ("node-drain.json", "uncordon_nodes"),
    ],
)
def test_the_method_ends_once_the_fault_is_cleared(name: str, clears: str) -> None:
    """docs/contracts.md: phases end with the method's last activity (the fault is gone)."""
    experiment = support.experiments()[name]
    assert _funcs(experiment["method"])[-1] == clears


def test_faults_are_undone_by_the_rollbacks_too() -> None:
    found = support.experiments()
    assert "scale_deployment" in _funcs(found["redis-outage.json"]["rollbacks"])
    assert "uncordon_nodes" in _funcs(found["node-drain.json"]["rollbacks"])
    rollback = found["tool-latency.json"]["rollbacks"][-1]["provider"]
    assert (rollback["method"], rollback["url"]) == ("DELETE", "${toolbox_url}/faults")


def test_tool_faults_always_carry_a_ttl() -> None:
    for name, experiment in support.experiments().items():
        for activity in experiment["method"]:
            provider = activity["provider"]
            if provider.get("type") == "http" and provider.get("method") == "PUT":
                assert provider["arguments"]["ttl_s"] > 0, name


def test_every_wait_is_bounded() -> None:
    """No activity may wait forever: each waiting argument is a finite number of seconds."""
    for name, experiment in support.experiments().items():
        for activity in support.activities(experiment):
            provider = activity["provider"]
            args = provider.get("arguments", {})
            for key in ("timeout", "timeout_s", "within_s"):
                if key in args:
                    assert 0 < float(args[key]) <= 600, f"{name}: {key}"
            if provider.get("type") == "http":
                assert 0 < provider["timeout"] <= 30, name


def test_hpa_experiment_checks_the_adapted_state_after_the_method() -> None:
    experiment = support.experiments()["hpa-scale-out.json"]
    assert experiment["runtime"]["hypothesis"]["strategy"] == "after-method-only"
    probes = experiment["steady-state-hypothesis"]["probes"]
    wanted = [
        p["provider"]["arguments"]["replicas"]
        for p in probes
        if "arguments" in p["provider"] and "replicas" in p["provider"]["arguments"]
    ]
    waited = [
        a["provider"]["arguments"]["replicas"]
        for a in experiment["method"]
        if a["provider"].get("func") == "hpa_scales_out_within"
    ]
    assert wanted == waited == [5]
