"""How the host reaches the deployed system, and the environment experiments/kind/*.json read."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from stampede.kind.cluster import host_port, kube_context, load_kind_config
from stampede.kind.layout import (
    AGENT_NODE_PORT,
    CLUSTER_NAME,
    KIND_CONFIG,
    NAMESPACE,
    TOOLBOX_NODE_PORT,
)
from stampede.kind.secret import read_admin_token


@dataclass(frozen=True)
class Endpoints:
    """How the host reaches the deployed system (URLs go through kind's 127.0.0.1 mappings)."""

    context: str
    namespace: str
    agent_url: str
    toolbox_url: str
    toolbox_token: str = field(default="", repr=False)


def endpoints(name: str = CLUSTER_NAME, config: Path = KIND_CONFIG) -> Endpoints:
    """Agent and toolbox URLs on the host, the admin token (read from the cluster), the context."""
    data = load_kind_config(config)
    context = kube_context(name)
    return Endpoints(
        context=context,
        namespace=NAMESPACE,
        agent_url=f"http://127.0.0.1:{host_port(AGENT_NODE_PORT, data)}",
        toolbox_url=f"http://127.0.0.1:{host_port(TOOLBOX_NODE_PORT, data)}",
        toolbox_token=read_admin_token(context) or "",
    )


def chaos_env(found: Endpoints) -> dict[str, str]:
    """Environment for Chaos Toolkit runs of experiments/kind/*.json (read by their config).

    ``STAMPEDE_FAULT_API_URL`` / ``_TOKEN`` (the toolbox's here) are where the generic fault
    activities (``experiments.activities.toolbox``) send faults on every target.
    """
    return {
        "KUBERNETES_CONTEXT": found.context,  # chaosk8s and the context guard both use it
        "STAMPEDE_NAMESPACE": found.namespace,
        "STAMPEDE_AGENT_URL": found.agent_url,
        "STAMPEDE_TOOLBOX_URL": found.toolbox_url,
        "STAMPEDE_TOOLBOX_TOKEN": found.toolbox_token,
        "STAMPEDE_FAULT_API_URL": found.toolbox_url,
        "STAMPEDE_FAULT_API_TOKEN": found.toolbox_token,
    }
