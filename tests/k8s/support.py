"""Helpers for the Kubernetes tests: render kustomizations, index objects, read experiments."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "k8s"
KIND_CONFIG = K8S / "kind-cluster.yaml"
KUSTOMIZATIONS = {
    "base": K8S / "base",
    "kind": K8S / "overlays" / "kind",
    "loadgen": K8S / "loadgen",
    "kind-loadgen": K8S / "overlays" / "kind-loadgen",
    "chaos": K8S / "chaos",
    "kind-chaos": K8S / "overlays" / "kind-chaos",
}
EXPERIMENTS = REPO / "experiments" / "kind"
WORKFLOW = REPO / ".github" / "workflows" / "kind-e2e.yml"

# The Kubernetes version of the kind node image (k8s/kind-cluster.yaml). Every manifest is
# validated against this version's schemas; test_kind_config checks the node image agrees.
KUBERNETES_VERSION = "1.37.0"
# kind's default pod subnet (k8s/kind-cluster.yaml must not override it; the kind overlay's
# NetworkPolicy excludes it).
KIND_DEFAULT_POD_SUBNET = "10.244.0.0/16"


def kubectl() -> str | None:
    return shutil.which("kubectl")


def render(path: Path) -> list[dict[str, Any]]:
    """``kubectl kustomize <path>`` as a list of objects (fails the test on a kustomize error)."""
    exe = kubectl()
    assert exe is not None, "kubectl missing (callers skip first)"
    proc = subprocess.run(
        [exe, "kustomize", str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, f"kubectl kustomize {path} failed: {proc.stderr.strip()}"
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


def key(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata", {})
    namespace = meta.get("namespace")
    name = f"{namespace}/{meta.get('name')}" if namespace else str(meta.get("name"))
    return f"{obj.get('kind')} {name}"


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [
        obj
        for obj in objects
        if obj.get("kind") == kind and (name is None or obj["metadata"]["name"] == name)
    ]


def one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = find(objects, kind, name)
    assert len(found) == 1, f"expected exactly one {kind} {name}, found {len(found)}"
    return found[0]


WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job")


def workloads(objects: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield from (obj for obj in objects if obj.get("kind") in WORKLOAD_KINDS)


def pod_templates(objects: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(workload, pod template) pairs."""
    for obj in workloads(objects):
        yield obj, obj["spec"]["template"]


def containers(template: dict[str, Any]) -> list[dict[str, Any]]:
    spec = template["spec"]
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels + matchExpressions) against a label set."""
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        k, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In" and labels.get(k) not in values:
            return False
        if op == "NotIn" and labels.get(k) in values:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True


def parse_selector(text: str) -> dict[str, Any]:
    """``a=b,c=d`` (the experiments' label_selector form) as a LabelSelector."""
    pairs = {}
    for term in filter(None, (t.strip() for t in text.split(","))):
        k, sep, v = term.partition("=")
        assert sep, f"only equality selectors are used in experiments, got {term!r}"
        pairs[k.strip()] = v.lstrip("=").strip()
    return {"matchLabels": pairs}


def experiments() -> dict[str, dict[str, Any]]:
    """Every kind experiment by file name (symlinked aliases included)."""
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(EXPERIMENTS.glob("*.json"))
    }


_VAR = re.compile(r"\$\{(\w+)\}")


def substitute(value: Any, configuration: dict[str, Any]) -> Any:
    """``${key}`` replaced by the configuration's default (what Chaos Toolkit would use)."""
    if isinstance(value, str):
        return _VAR.sub(lambda m: str(_default(configuration, m.group(1))), value)
    if isinstance(value, dict):
        return {k: substitute(v, configuration) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, configuration) for v in value]
    return value


def _default(configuration: dict[str, Any], name: str) -> Any:
    entry = configuration[name]
    if isinstance(entry, dict) and entry.get("type") == "env":
        return entry["default"]
    return entry


def activities(experiment: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every activity (hypothesis probes, method, rollbacks) with ${...} resolved."""
    configuration = experiment.get("configuration", {})
    hypothesis = experiment.get("steady-state-hypothesis", {})
    for activity in [
        *hypothesis.get("probes", []),
        *experiment.get("method", []),
        *experiment.get("rollbacks", []),
    ]:
        yield substitute(activity, configuration)
