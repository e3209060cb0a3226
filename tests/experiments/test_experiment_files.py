"""The local experiment files: valid for Chaos Toolkit and shaped as docs/contracts.md says."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.experiments.conftest import CHAOS, LOCAL_EXPERIMENTS

IDS = [p.stem for p in LOCAL_EXPERIMENTS]
#: The method's last activity (the one that clears the fault) and what the rollbacks repeat.
CLEARS = {
    "replica-kill": ("all_workers_replaced_within", "wait_for_recovery"),
    "tool-latency": ("clear_fault", "clear_all_faults"),
    "redis-outage": ("start_redis", "start_redis"),
}


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def funcs(activities: list[dict[str, Any]]) -> list[str]:
    return [a["provider"]["func"] for a in activities]


def test_the_three_local_experiments_exist() -> None:
    assert sorted(IDS) == sorted(CLEARS)


@pytest.fixture(scope="module")
def validations(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str]]:
    """``chaos --no-version-check validate`` of every local experiment, run side by side."""
    running = {}
    for path in LOCAL_EXPERIMENTS:
        cwd = tmp_path_factory.mktemp(f"validate-{path.stem}")
        running[path.stem] = subprocess.Popen(
            [*CHAOS, "--log-file", str(cwd / "chaostoolkit.log"), "validate", str(path)],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    return {name: (proc.wait(timeout=120), proc.communicate()[0]) for name, proc in running.items()}


@pytest.mark.parametrize("path", LOCAL_EXPERIMENTS, ids=IDS)
def test_chaos_validate_accepts_the_experiment(
    path: Path, validations: dict[str, tuple[int, str]]
) -> None:
    code, output = validations[path.stem]
    assert code == 0, output
    assert "experiment syntax and semantic look valid" in output


@pytest.mark.parametrize("path", LOCAL_EXPERIMENTS, ids=IDS)
def test_experiment_follows_the_contract(path: Path) -> None:
    """State file from the env, a live SLO hypothesis, a method that ends by clearing the fault."""
    exp = load(path)
    assert exp["title"] and exp["description"] and "local" in exp["tags"]
    assert exp["configuration"]["state_file"] == {
        "type": "env",
        "key": "STAMPEDE_STACK_STATE",
        "default": ".stampede/stack.json",
    }
    assert exp["runtime"]["rollbacks"]["strategy"] == "always"
    assert exp["configuration"]["observe_s"] > 0
    hypothesis = funcs(exp["steady-state-hypothesis"]["probes"])
    assert hypothesis[0] == "agent_is_ready"
    assert {"investigations_meet_slo", "observed_windows_meet_slo"} <= set(hypothesis)
    last, rollback = CLEARS[path.stem]
    assert funcs(exp["method"])[-1] == last
    assert rollback in funcs(exp["rollbacks"])
    assert funcs(exp["rollbacks"])[-1] == "wait_for_recovery"
    for activity in exp["method"] + exp["rollbacks"]:
        provider = activity["provider"]
        assert provider["module"].startswith("experiments.activities.")
        if provider["func"] == "inject_fault":
            assert provider["arguments"]["ttl_s"] > 0, "a fault must expire on its own"


def test_no_experiment_or_doc_runs_chaos_without_no_version_check() -> None:
    """Chaos Toolkit phones home unless told not to: every command we show carries the flag."""
    repo = LOCAL_EXPERIMENTS[0].parents[2]
    for path in [*LOCAL_EXPERIMENTS, repo / "docs" / "experiments.md"]:
        for line in path.read_text().splitlines():
            for verb in ("run", "validate", "discover"):
                assert f"chaos {verb}" not in line, f"{path.name}: {line.strip()!r}"
