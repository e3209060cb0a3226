"""What the cluster looks like now: status for `stampede kind status`, readiness, replica counts.

``ReplicaSampler`` gives the suite rows ``(metric, label, value)`` for samples.csv, metric
``replicas``: label ``<deployment>`` = its ready replicas, label ``hpa/<name>`` = the HPA's
desired replicas.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from stampede.errors import InputError
from stampede.kind.cluster import cluster_exists, host_port, kube_context, load_kind_config
from stampede.kind.layout import (
    AGENT_NODE_PORT,
    CLUSTER_NAME,
    DEPLOYMENTS,
    NAMESPACE,
    TOOLBOX_NODE_PORT,
)
from stampede.kind.tools import kubectl, require


def _get(context: str, *args: str) -> dict[str, Any]:
    """``kubectl get ... --output json`` as a dict."""
    data = json.loads(kubectl(context, "get", *args, "--output", "json").stdout)
    return data if isinstance(data, dict) else {}


def _nodes(context: str) -> list[dict[str, Any]]:
    return [
        {
            "name": node["metadata"]["name"],
            "ready": any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in node.get("status", {}).get("conditions", [])
            ),
            "schedulable": not node.get("spec", {}).get("unschedulable", False),
        }
        for node in _get(context, "nodes").get("items", [])
    ]


def _deployments(context: str) -> dict[str, dict[str, int]]:
    return {
        item["metadata"]["name"]: {
            "ready": int(item.get("status", {}).get("readyReplicas") or 0),
            "desired": int(item.get("spec", {}).get("replicas") or 0),
        }
        for item in _get(context, "--namespace", NAMESPACE, "deployments").get("items", [])
    }


def _hpas(context: str) -> dict[str, dict[str, int]]:
    return {
        item["metadata"]["name"]: {
            "current": int(item.get("status", {}).get("currentReplicas") or 0),
            "desired": int(item.get("status", {}).get("desiredReplicas") or 0),
        }
        for item in _get(context, "--namespace", NAMESPACE, "hpa").get("items", [])
    }


def status(name: str = CLUSTER_NAME) -> dict[str, Any]:
    """Cluster, nodes, deployments, HPA and URLs as a dict (``exists: False`` if no cluster)."""
    require("kind")
    context = kube_context(name)
    report: dict[str, Any] = {"cluster": name, "context": context, "exists": cluster_exists(name)}
    if not report["exists"]:
        return report
    report["nodes"] = _nodes(context)
    report["deployments"] = _deployments(context)
    report["hpa"] = _hpas(context)
    data = load_kind_config()
    report["agent_url"] = f"http://127.0.0.1:{host_port(AGENT_NODE_PORT, data)}"
    report["toolbox_url"] = f"http://127.0.0.1:{host_port(TOOLBOX_NODE_PORT, data)}"
    return report


def ready_problem(report: dict[str, Any]) -> str | None:
    """None when ``status()`` shows every node and deployment ready, else what is not."""
    if not report.get("exists"):
        return f"no kind cluster {report.get('cluster')!r}"
    problems = [f"node {n['name']} not ready" for n in report.get("nodes", []) if not n["ready"]]
    deployments = report.get("deployments", {})
    for deployment in DEPLOYMENTS:
        row = deployments.get(deployment)
        if row is None:
            problems.append(f"deployment {deployment} missing")
        elif row["ready"] < max(row["desired"], 1):
            problems.append(f"deployment {deployment} {row['ready']}/{row['desired']} ready")
    return "; ".join(problems) or None


def replica_counts(api: Any, namespace: str = NAMESPACE, timeout_s: float = 3.0) -> dict[str, int]:
    """``{deployment: ready replicas, "hpa/<name>": desired replicas}`` from one API client."""
    from kubernetes import client  # third-party and slow to import: only when sampling

    apps: Any = client.AppsV1Api(api)
    autoscaling: Any = client.AutoscalingV2Api(api)
    counts: dict[str, int] = {}
    deployments = apps.list_namespaced_deployment(namespace, _request_timeout=timeout_s)
    for item in deployments.items:
        counts[item.metadata.name] = int(item.status.ready_replicas or 0)
    hpas = autoscaling.list_namespaced_horizontal_pod_autoscaler(
        namespace, _request_timeout=timeout_s
    )
    for hpa in hpas.items:
        counts[f"hpa/{hpa.metadata.name}"] = int(hpa.status.desired_replicas or 0)
    return counts


class ReplicaSampler:
    """Replica counts for samples.csv (metric ``replicas``), one API client reused per call."""

    def __init__(self, context: str = kube_context(), namespace: str = NAMESPACE) -> None:
        if not context.startswith("kind-"):
            raise InputError(f"ReplicaSampler samples kind contexts (kind-*), got {context!r}")
        self.context = context
        self.namespace = namespace
        self._api: Any = None

    def _client(self) -> Any:
        if self._api is None:
            from kubernetes import config  # third-party and slow to import: only when sampling

            self._api = config.new_client_from_config(
                config_file=os.environ.get("KUBECONFIG") or None, context=self.context
            )
        return self._api

    def sample(self) -> list[tuple[str, str, float]]:
        """``(metric, label, value)`` rows: ready replicas per Deployment, HPA desired replicas."""
        counts = replica_counts(self._client(), self.namespace)
        return [("replicas", label, float(value)) for label, value in sorted(counts.items())]

    def rows(self, experiment: str, ts: float | None = None) -> list[dict[str, Any]]:
        """samples.csv rows ``ts,experiment,metric,label,value`` for one sample."""
        now = time.time() if ts is None else ts
        return [
            {"ts": now, "experiment": experiment, "metric": m, "label": label, "value": v}
            for m, label, v in self.sample()
        ]
