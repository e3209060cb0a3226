"""The kind cluster itself: its config (k8s/kind-cluster.yaml), host ports, create and delete."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stampede.errors import InputError
from stampede.kind.layout import CLUSTER_NAME, CREATE_TIMEOUT_S, KIND_CONFIG
from stampede.kind.tools import Say, quiet, require, require_docker_engine, run
from stampede.yamlinput import MAX_CONFIG_CHARS, load_yaml, read_text


def kube_context(name: str = CLUSTER_NAME) -> str:
    """The kube context kind creates for cluster ``name``."""
    return f"kind-{name}"


def load_kind_config(path: Path = KIND_CONFIG) -> dict[str, Any]:
    """The kind cluster config; InputError naming the file when it is missing or malformed."""
    text = read_text(path, limit=MAX_CONFIG_CHARS)
    data, _ = load_yaml(text, str(path))
    if not isinstance(data, dict) or data.get("kind") != "Cluster":
        raise InputError(f"{path}: not a kind Cluster config (kind: Cluster)")
    return data


def host_port(node_port: int, config: dict[str, Any] | None = None) -> int:
    """The 127.0.0.1 host port that kind maps to ``node_port``; InputError when unmapped."""
    data = config if config is not None else load_kind_config()
    for node in data.get("nodes") or []:
        for mapping in node.get("extraPortMappings") or []:
            if int(mapping.get("containerPort", -1)) == node_port:
                return int(mapping["hostPort"])
    raise InputError(f"{KIND_CONFIG}: no extraPortMappings entry for nodePort {node_port}")


def cluster_exists(name: str = CLUSTER_NAME) -> bool:
    """Whether kind knows a cluster called ``name``."""
    out = run(["kind", "get", "clusters"], timeout_s=60).stdout
    return name in {line.strip() for line in out.splitlines()}


def require_cluster(name: str = CLUSTER_NAME) -> None:
    """InputError telling the user to run `stampede kind up` when the cluster is missing."""
    if not cluster_exists(name):
        raise InputError(f"no kind cluster named {name!r}: run `stampede kind up` first")


def up(name: str = CLUSTER_NAME, config: Path = KIND_CONFIG, say: Say = quiet) -> bool:
    """Create the kind cluster unless it exists; True when it was created now."""
    for tool in ("kind", "kubectl"):
        require(tool)
    require_docker_engine()
    load_kind_config(config)  # a malformed file is the user's to fix: say so before kind does
    if cluster_exists(name):
        say(f"kind cluster {name!r} already exists (context {kube_context(name)})")
        return False
    say(f"creating kind cluster {name!r} from {config} (a few minutes the first time)")
    run(
        ["kind", "create", "cluster", "--name", name, "--config", str(config), "--wait", "300s"],
        timeout_s=CREATE_TIMEOUT_S,
    )
    say(f"kind cluster {name!r} is up (context {kube_context(name)})")
    return True


def down(name: str = CLUSTER_NAME, say: Say = quiet) -> bool:
    """Delete the kind cluster; True when there was one to delete."""
    require("kind")
    if not cluster_exists(name):
        say(f"no kind cluster named {name!r}: nothing to delete")
        return False
    run(["kind", "delete", "cluster", "--name", name], timeout_s=300)
    say(f"kind cluster {name!r} deleted")
    return True
