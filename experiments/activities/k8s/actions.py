"""Kubernetes actions for experiments/kind/*.json that chaosk8s lacks.

* A drain that honours PDBs. chaosk8s's ``drain_nodes`` evicts every pod of a node at once and
  gives up on the first eviction a PodDisruptionBudget refuses (HTTP 429), leaving a
  half-drained node. ``drain_node`` here does what ``kubectl drain`` does: cordon, evict, and
  retry refused evictions until the budget allows them or the time is up. Nodes it cordons are
  annotated so ``uncordon_nodes`` (method end and rollback) can undo exactly that, and nothing
  an operator cordoned by hand.
* A pod kill aimed at running work. chaosk8s's ``terminate_pods`` picks pods by name, label or
  at random; ``terminate_job_holder_pod`` kills the pod running the most durable jobs, read from
  each pod's own ``agent_jobs_running`` (the kind counterpart of the local ``kill_job_holder``).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from experiments.activities.k8s import _client
from stampede.kind import podmetrics

_BOUNDED: dict[str, Any] = {"_request_timeout": _client.REQUEST_TIMEOUT_S}

__all__ = ["drain_node", "terminate_job_holder_pod", "uncordon_nodes"]

RUNNING_JOBS = "agent_jobs_running"  # target_agent/agent/metrics.py: per process, live sum
HOLDER_POLL_S = 0.5

# Same key as stampede.kind.CORDON_ANNOTATION (tests/k8s checks they agree).
CORDON_ANNOTATION = "stampede.dev/cordoned-by"
EVICTION_RETRY_S = 1.0


def _selector_matches(selector: str, labels: dict[str, str] | None) -> bool:
    """Equality-based label selector (``a=b,c=d``) against a label dict."""
    labels = labels or {}
    for term in filter(None, (part.strip() for part in selector.split(","))):
        key, _, value = term.partition("=")
        if labels.get(key.strip()) != value.strip().lstrip("="):
            return False
    return True


def _evictable(pod: Any) -> bool | None:
    """True to evict, False to leave (DaemonSet, mirror, finished), None when unmanaged."""
    meta = pod.metadata
    if "kubernetes.io/config.mirror" in (meta.annotations or {}):
        return False
    if meta.deletion_timestamp is not None:
        return False
    owners = [owner for owner in meta.owner_references or [] if owner.controller]
    if any(owner.kind == "DaemonSet" for owner in owners):
        return False
    if pod.status is not None and pod.status.phase in ("Succeeded", "Failed"):
        return True
    return True if owners else None


def drain_node(
    pod_label_selector: str = "app.kubernetes.io/name=agent",
    namespace: str = "stampede",
    timeout_s: float = 180.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Drain the node running most pods matching the selector; raise ActivityFailed if stuck.

    Picks the schedulable node with the most matching pods in ``namespace``, cordons and
    annotates it, evicts its pods (all namespaces, like ``kubectl drain --ignore-daemonsets
    --delete-emptydir-data``), retrying evictions a PodDisruptionBudget refuses, and waits until
    they are gone. Raises ActivityFailed when no node runs a matching pod, a pod has no
    controller (it would be lost), or the drain does not finish in ``timeout_s`` seconds.
    """
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    core: Any = client.CoreV1Api(_client.api_client(configuration, secrets))
    deadline = time.monotonic() + float(timeout_s)
    started = time.monotonic()

    unschedulable = {
        n.metadata.name for n in core.list_node(**_BOUNDED).items if n.spec.unschedulable
    }
    per_node: dict[str, int] = {}
    for pod in core.list_namespaced_pod(
        namespace, label_selector=pod_label_selector, **_BOUNDED
    ).items:
        if not _selector_matches(pod_label_selector, pod.metadata.labels):
            continue
        node = pod.spec.node_name
        if node and node not in unschedulable and pod.metadata.deletion_timestamp is None:
            per_node[node] = per_node.get(node, 0) + 1
    if not per_node:
        raise ActivityFailed(
            f"no schedulable node runs a pod matching {pod_label_selector!r} in {namespace}: "
            "nothing to drain"
        )
    node = sorted(per_node, key=lambda n: (-per_node[n], n))[0]

    on_node = [
        pod
        for pod in core.list_pod_for_all_namespaces(
            field_selector=f"spec.nodeName={node}", **_BOUNDED
        ).items
        if pod.spec.node_name == node
    ]
    unmanaged = [
        f"{p.metadata.namespace}/{p.metadata.name}" for p in on_node if _evictable(p) is None
    ]
    if unmanaged:
        raise ActivityFailed(
            f"node {node}: pods without a controller would be lost by a drain: "
            f"{', '.join(unmanaged)}; expected only managed pods"
        )
    victims = [pod for pod in on_node if _evictable(pod)]

    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    core.patch_node(
        node,
        {
            "metadata": {"annotations": {CORDON_ANNOTATION: f"experiment drain_node {stamp}"}},
            "spec": {"unschedulable": True},
        },
        **_BOUNDED,
    )

    pending = {(p.metadata.namespace, p.metadata.name): p.metadata.uid for p in victims}
    to_evict = list(pending)
    while to_evict:
        refused = []
        for ns, pod_name in to_evict:
            body = client.V1Eviction(metadata=client.V1ObjectMeta(name=pod_name, namespace=ns))
            try:
                core.create_namespaced_pod_eviction(pod_name, ns, body, **_BOUNDED)
            except ApiException as exc:
                if exc.status == 404:
                    continue
                if exc.status == 429:  # a PodDisruptionBudget says "not now"
                    refused.append((ns, pod_name))
                    continue
                raise ActivityFailed(
                    f"node {node}: evicting pod {ns}/{pod_name} failed: {exc.status} {exc.reason}"
                ) from exc
        to_evict = refused
        if to_evict:
            if time.monotonic() >= deadline:
                names = ", ".join(f"{ns}/{name}" for ns, name in to_evict)
                raise ActivityFailed(
                    f"node {node}: evictions still refused by a PodDisruptionBudget after "
                    f"{float(timeout_s):g} s: {names}"
                )
            time.sleep(EVICTION_RETRY_S)

    while pending:
        for key, uid in list(pending.items()):
            try:
                current = core.read_namespaced_pod(key[1], key[0], **_BOUNDED)
            except ApiException as exc:
                if exc.status == 404:
                    del pending[key]
                    continue
                raise ActivityFailed(
                    f"node {node}: reading pod {key[0]}/{key[1]} failed: {exc.status} {exc.reason}"
                ) from exc
            if current.metadata.uid != uid:
                del pending[key]
        if not pending:
            break
        if time.monotonic() >= deadline:
            names = ", ".join(f"{ns}/{name}" for ns, name in pending)
            raise ActivityFailed(
                f"node {node}: pods still present {float(timeout_s):g} s after eviction: {names}"
            )
        time.sleep(EVICTION_RETRY_S)

    return {
        "node": node,
        "evicted": sorted(
            f"{ns}/{name}"
            for ns, name in {(p.metadata.namespace, p.metadata.name) for p in victims}
        ),
        "duration_s": round(time.monotonic() - started, 3),
    }


def uncordon_nodes(configuration: Configuration = None, secrets: Secrets = None) -> list[str]:
    """Uncordon every node an experiment cordoned; raise InterruptExecution if context refused.

    Finds the nodes by the annotation ``drain_node`` sets and returns their names. Idempotent:
    nodes cordoned by anything else are left alone, and a second call finds nothing to do.
    """
    from kubernetes import client

    core: Any = client.CoreV1Api(_client.api_client(configuration, secrets))
    done = []
    for node in core.list_node(**_BOUNDED).items:
        if CORDON_ANNOTATION in (node.metadata.annotations or {}):
            core.patch_node(
                node.metadata.name,
                {
                    "metadata": {"annotations": {CORDON_ANNOTATION: None}},
                    "spec": {"unschedulable": False},
                },
                **_BOUNDED,
            )
            done.append(node.metadata.name)
    return sorted(done)


def terminate_job_holder_pod(
    label_selector: str = podmetrics.AGENT_SELECTOR,
    ns: str = "stampede",
    grace_period: int = 0,
    wait_s: float = 30.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Terminate the ready pod running most durable jobs; raises ActivityFailed if none runs one.

    Each ready pod matching ``label_selector`` in ``ns`` is read through the API server's pod
    proxy (``/metrics``, as the sampler reads them on kind): its ``agent_jobs_running`` is the
    attempts its workers are running. A random pod may run none, which interrupts nothing. Waits
    up to ``wait_s`` (the Deployment may still be replacing the last pod killed) for a pod to run
    one, then deletes it with ``grace_period`` seconds (0: no SIGTERM grace, like a node loss).
    Raises ActivityFailed when no pod ran a job by then (the journal then says the experiment
    could not interrupt a run); a pod that does not answer is left out of that look.
    """
    from kubernetes import client
    from prometheus_client.parser import text_string_to_metric_families

    core: Any = client.CoreV1Api(_client.api_client(configuration, secrets))
    deadline = time.monotonic() + float(wait_s)
    while True:
        held: dict[str, float] = {}
        unread: dict[str, str] = {}
        for pod in podmetrics.ready_pods(core, ns, label_selector):
            try:
                text = podmetrics.pod_metrics(core, pod, ns)
            except Exception as exc:  # a pod going away is data: left out of this look
                unread[pod] = f"{type(exc).__name__}: {exc}"[:200]
                continue
            held[pod] = sum(
                sample.value
                for family in text_string_to_metric_families(text)
                for sample in family.samples
                if sample.name == RUNNING_JOBS
            )
        busy = {pod: n for pod, n in held.items() if n > 0}
        if busy:
            break
        if time.monotonic() >= deadline:
            raise ActivityFailed(
                f"no ready pod matching {label_selector!r} in {ns} ran a durable job within "
                f"{wait_s:g} s (read: {held or 'none'}; unreadable: {unread or 'none'}): "
                "nothing in flight to interrupt"
            )
        time.sleep(HOLDER_POLL_S)
    victim = sorted(busy, key=lambda p: (-busy[p], p))[0]
    core.delete_namespaced_pod(victim, ns, grace_period_seconds=int(grace_period), **_BOUNDED)
    return {
        "killed": victim,
        "jobs_held": int(busy[victim]),
        "held_by_pod": {pod: int(n) for pod, n in sorted(held.items())},
        "unreadable": unread,
        "grace_period": int(grace_period),
    }
