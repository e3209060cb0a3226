"""The kind-e2e workflow is a valid GitHub workflow; it and the k8s YAML pass yamllint.

actionlint cannot be installed here (its Python wheel downloads a binary), so the workflow is
checked against the GitHub-workflow JSON schema that check-jsonschema vendors, plus a few rules
of this project: pinned tools, `always()` for the artifact and the teardown, and
`--no-version-check` on every `chaos` call.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.k8s import support

YAMLLINT_CONFIG = (
    "{extends: default, rules: {line-length: {max: 120}, document-start: disable, "
    "truthy: {check-keys: false}, comments: {min-spaces-from-content: 1}}}"
)


def _tool(name: str) -> str:
    path = Path(sys.executable).with_name(name)
    if not path.exists():
        pytest.fail(f"{name} is not installed (it is in the dev extra: run `make setup`)")
    return str(path)


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv), capture_output=True, text=True, timeout=120, check=False, cwd=support.REPO
    )


def test_workflow_matches_the_github_workflow_schema() -> None:
    proc = _run(
        _tool("check-jsonschema"),
        "--builtin-schema",
        "vendor.github-workflows",
        str(support.WORKFLOW),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    """The check above can fail: a job without runs-on is not a workflow."""
    broken = yaml.safe_load(support.WORKFLOW.read_text())
    del broken["jobs"]["kind-e2e"]["runs-on"]
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(broken))
    proc = _run(_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path))
    assert proc.returncode != 0


def test_yamllint_passes_on_the_workflow_and_the_k8s_yaml() -> None:
    files = [str(support.WORKFLOW), *sorted(str(p) for p in support.K8S.rglob("*.yaml"))]
    proc = _run(_tool("yamllint"), "--strict", "-d", YAMLLINT_CONFIG, *files)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(support.WORKFLOW.read_text())
    return data


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = workflow["jobs"]["kind-e2e"]["steps"]
    return steps


def _step(workflow: dict[str, Any], name: str) -> dict[str, Any]:
    (step,) = [s for s in _steps(workflow) if s.get("name") == name]
    return step


def test_workflow_runs_the_documented_sequence(workflow: dict[str, Any]) -> None:
    runs = " ;; ".join(str(s.get("run", "")) for s in _steps(workflow))
    order = [
        "make setup",
        "stampede kind up",
        "stampede kind deploy",
        "stampede suite --target kind --profile smoke --slo slo.yaml",
        "stampede gate",
        "stampede kind down",
    ]
    positions = [runs.find(item) for item in order]
    assert all(p >= 0 for p in positions), dict(zip(order, positions, strict=True))
    assert positions == sorted(positions)


def test_artifact_and_teardown_run_always(workflow: dict[str, Any]) -> None:
    upload = _step(workflow, "Upload the run directory")
    assert upload["uses"].startswith("actions/upload-artifact@") and upload["if"] == "always()"
    assert upload["with"]["path"] == "runs/"
    assert _step(workflow, "Delete the kind cluster")["if"] == "always()"
    assert _step(workflow, "SLO gate")["if"] == "always()"


def test_tools_and_actions_are_pinned(workflow: dict[str, Any]) -> None:
    assert re.fullmatch(r"v\d+\.\d+\.\d+", workflow["env"]["KIND_VERSION"])
    assert re.fullmatch(r"v\d+\.\d+\.\d+", workflow["env"]["KUBECTL_VERSION"])
    node = yaml.safe_load(support.KIND_CONFIG.read_text())["nodes"][0]["image"]
    assert workflow["env"]["KUBECTL_VERSION"] == f"v{support.KUBERNETES_VERSION}"
    assert f":v{support.KUBERNETES_VERSION}@" in node
    for step in _steps(workflow):
        if "uses" in step:
            assert re.search(r"@v\d+", step["uses"]), step["uses"]
    install = _step(workflow, "Install kind and kubectl (pinned, checksum-verified)")["run"]
    assert install.count("sha256sum --check") == 2


def test_no_chaos_call_phones_home() -> None:
    """Every chaos invocation passes --no-version-check (docs/experiments.md)."""
    text = support.WORKFLOW.read_text()
    for match in re.finditer(r"\bchaos\s+(\S+)", text):
        assert match.group(1) == "--no-version-check", match.group(0)
