"""Kubernetes probes for experiments/kind/*.json: context guard, replicas, HPA, rollouts.

chaosk8s covers pod, deployment and node basics; these are the questions it cannot answer:
is this cluster one we may touch, how many replicas serve right now, does the HPA scale out in
time, did a rollout keep every replica available. Every API call goes through one guarded
client (``_client.api_client``): a refused context raises before any request is sent.
"""

from __future__ import annotations

import time
from typing import Any

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from experiments.activities.k8s import _client
from stampede import kind

_BOUNDED: dict[str, Any] = {"_request_timeout": _client.REQUEST_TIMEOUT_S}

__all__ = [
    "hpa_can_scale",
    "hpa_scales_out_within",
    "kube_context_allowed",
    "ready_replicas_at_least",
    "replica_counts",
    "rollout_completes_without_unavailable",
]


def kube_context_allowed(
    allowed: str = "", configuration: Configuration = None, secrets: Secrets = None
) -> bool:
    """Return True when the kube context is allow-listed; raise InterruptExecution if it is not.

    Put it first in the steady-state hypothesis, first in the method and first in the rollbacks:
    it records the vetted context in the journal. It does not stop a run (chaoslib turns an
    activity's InterruptExecution into ActivityFailed): the guard control (``guard.py``) does.
    It reads the kubeconfig only (no API call). ``allowed`` overrides the allow-list
    (comma-separated patterns, default ``kind-*``; see ``_client`` for every source).
    """
    _client.check_context(allowed, configuration, secrets)
    return True


def replica_counts(
    namespace: str = "stampede", configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, int]:
    """Return ready replicas per Deployment and HPA desired replicas; raise if context refused.

    Keys: Deployment names, and ``hpa/<name>`` for each HPA's desired replicas - the same
    numbers the suite samples into samples.csv (metric ``replicas``). Raises InterruptExecution
    when the kube context is refused.
    """
    return kind.replica_counts(_client.api_client(configuration, secrets), namespace)


def ready_replicas_at_least(
    name: str = "agent",
    replicas: int = 1,
    namespace: str = "stampede",
    raise_on_fewer: bool = True,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> bool:
    """Return True when the Deployment has at least ``replicas`` Ready pods; raise if fewer.

    Raises ActivityFailed naming the ready and desired counts (or returns False when
    ``raise_on_fewer`` is False), InterruptExecution when the kube context is refused.
    """
    from kubernetes import client

    apps: Any = client.AppsV1Api(_client.api_client(configuration, secrets))
    deployment = apps.read_namespaced_deployment(name, namespace, **_BOUNDED)
    ready = int(deployment.status.ready_replicas or 0)
    if ready >= int(replicas):
        return True
    if not raise_on_fewer:
        return False
    raise ActivityFailed(
        f"deployment {namespace}/{name}: {ready} ready replicas "
        f"({deployment.spec.replicas} desired); expected at least {int(replicas)}"
    )


def _hpa(api: Any, name: str, namespace: str) -> Any:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    autoscaling: Any = client.AutoscalingV2Api(api)
    try:
        return autoscaling.read_namespaced_horizontal_pod_autoscaler(name, namespace, **_BOUNDED)
    except ApiException as exc:
        raise ActivityFailed(
            f"cannot read HorizontalPodAutoscaler {namespace}/{name}: {exc.status} {exc.reason}"
        ) from exc


def hpa_can_scale(
    name: str = "agent",
    namespace: str = "stampede",
    raise_on_unable: bool = True,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> bool:
    """Return True when the HPA gets metrics and may scale; raise ActivityFailed if not.

    Checks the HPA conditions AbleToScale and ScalingActive. ScalingActive is False when no CPU
    metrics arrive (metrics-server missing or, on kind, without --kubelet-insecure-tls): then
    an HPA experiment could only fail, so the hypothesis should stop before the method.
    """
    hpa = _hpa(_client.api_client(configuration, secrets), name, namespace)
    conditions = {c.type: c for c in (hpa.status.conditions or [])}
    for wanted in ("AbleToScale", "ScalingActive"):
        condition = conditions.get(wanted)
        if condition is None or condition.status != "True":
            why = f"{condition.reason}: {condition.message}" if condition else "not reported yet"
            if not raise_on_unable:
                return False
            raise ActivityFailed(
                f"HorizontalPodAutoscaler {namespace}/{name}: condition {wanted} is not True "
                f"({why}); expected an HPA that receives CPU metrics"
            )
    return True


def hpa_scales_out_within(
    name: str = "agent",
    replicas: int = 5,
    within_s: float = 180.0,
    namespace: str = "stampede",
    poll_s: float = 2.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> float:
    """Return seconds until the HPA's Deployment serves ``replicas`` ready pods; raise if late.

    Waits at most ``within_s`` seconds for the HPA to want at least ``replicas`` and for that
    many pods of its target Deployment to be Ready. Raises ActivityFailed on timeout, naming the
    desired and ready counts reached.
    """
    from kubernetes import client

    api = _client.api_client(configuration, secrets)
    apps: Any = client.AppsV1Api(api)
    target = _hpa(api, name, namespace).spec.scale_target_ref.name
    started = time.monotonic()
    deadline = started + float(within_s)
    desired = ready = 0
    while True:
        desired = int(_hpa(api, name, namespace).status.desired_replicas or 0)
        ready = int(
            apps.read_namespaced_deployment(target, namespace, **_BOUNDED).status.ready_replicas
            or 0
        )
        if desired >= int(replicas) and ready >= int(replicas):
            return round(time.monotonic() - started, 3)
        if time.monotonic() >= deadline:
            raise ActivityFailed(
                f"HorizontalPodAutoscaler {namespace}/{name}: {ready} ready replicas of "
                f"deployment {target} (HPA desired {desired}) after {float(within_s):g} s; "
                f"expected at least {int(replicas)}"
            )
        time.sleep(float(poll_s))


def rollout_completes_without_unavailable(
    name: str = "agent",
    namespace: str = "stampede",
    timeout_s: float = 300.0,
    poll_s: float = 0.5,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Return rollout facts once the Deployment's rollout is done; raise if it ever lost capacity.

    Watches the Deployment until its newest generation is fully rolled out (observed, all
    replicas updated and available, no old pods left). All along, available replicas must not
    drop below what served when the watch started (capped at desired), minus the strategy's
    maxUnavailable (0 for the agent): an HPA scaling up mid-rollout raises "desired" without
    any capacity being lost, so it does not count. Raises ActivityFailed when capacity dropped
    or the rollout did not finish in ``timeout_s`` seconds.
    """
    from kubernetes import client

    apps: Any = client.AppsV1Api(_client.api_client(configuration, secrets))
    started = time.monotonic()
    deadline = started + float(timeout_s)
    baseline: int | None = None
    min_available: int | None = None
    while True:
        deployment = apps.read_namespaced_deployment(name, namespace, **_BOUNDED)
        spec, status = deployment.spec, deployment.status
        desired = int(spec.replicas if spec.replicas is not None else 1)
        allowed = _max_unavailable(spec.strategy, desired)
        available = int(status.available_replicas or 0)
        if baseline is None:
            baseline = available
        min_available = available if min_available is None else min(min_available, available)
        floor = min(baseline, desired) - allowed
        if available < floor:
            raise ActivityFailed(
                f"deployment {namespace}/{name}: {available} available replicas during the "
                f"rollout, expected at least {floor} ({baseline} served when it started, "
                f"{desired} desired, maxUnavailable {allowed})"
            )
        observed = int(status.observed_generation or 0) >= int(deployment.metadata.generation or 0)
        done = (
            observed
            and int(status.updated_replicas or 0) == desired
            and int(status.replicas or 0) == desired
            and available == desired
        )
        if done:
            return {
                "deployment": f"{namespace}/{name}",
                "duration_s": round(time.monotonic() - started, 3),
                "desired": desired,
                "available_at_start": baseline,
                "min_available": min_available,
            }
        if time.monotonic() >= deadline:
            raise ActivityFailed(
                f"deployment {namespace}/{name}: rollout not finished after "
                f"{float(timeout_s):g} s ({int(status.updated_replicas or 0)}/{desired} updated, "
                f"{available} available, {int(status.replicas or 0)} total)"
            )
        time.sleep(float(poll_s))


def _max_unavailable(strategy: Any, desired: int) -> int:
    """The Deployment strategy's maxUnavailable in pods (percentages round down, like k8s)."""
    if strategy is None or strategy.type == "Recreate":
        return desired
    rolling = strategy.rolling_update
    value = "25%" if rolling is None or rolling.max_unavailable is None else rolling.max_unavailable
    if isinstance(value, str) and value.endswith("%"):
        return int(desired * int(value[:-1]) // 100)
    return int(value)
