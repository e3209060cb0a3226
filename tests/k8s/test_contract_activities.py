"""Contract tests of the k8s activities against kmock, a fake Kubernetes API.

kmock ignores label and field selectors and runs no controllers: these tests prove which API
calls the activities make (and that a refused context makes none), not how a cluster reacts.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from chaoslib.exceptions import ActivityFailed, InterruptExecution

from experiments.activities.k8s import actions, probes
from stampede import kind
from tests.k8s.conftest import FakeCluster

NS = "stampede"


def deployment(
    name: str,
    replicas: int,
    ready: int,
    *,
    available: int | None = None,
    updated: int | None = None,
    total: int | None = None,
    generation: int = 2,
    observed: int = 2,
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "generation": generation},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0}},
            "template": {"metadata": {"labels": {"app.kubernetes.io/name": name}}},
        },
        "status": {
            "observedGeneration": observed,
            "replicas": replicas if total is None else total,
            "readyReplicas": ready,
            "availableReplicas": ready if available is None else available,
            "updatedReplicas": replicas if updated is None else updated,
        },
    }


def hpa(desired: int, *, scaling_active: bool = True) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "agent", "namespace": NS},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "agent"},
            "minReplicas": 3,
            "maxReplicas": 8,
        },
        "status": {
            "currentReplicas": 3,
            "desiredReplicas": desired,
            "conditions": [
                {"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale"},
                {
                    "type": "ScalingActive",
                    "status": "True" if scaling_active else "False",
                    "reason": "ValidMetricFound" if scaling_active else "FailedGetResourceMetric",
                    "message": "ok" if scaling_active else "unable to get metrics for cpu",
                },
            ],
        },
    }


def node(
    name: str, *, unschedulable: bool = False, annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "annotations": annotations or {}},
        "spec": {"unschedulable": unschedulable},
    }


def pod(
    name: str,
    node_name: str,
    *,
    namespace: str = NS,
    app: str = "agent",
    owner: str | None = "ReplicaSet",
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "uid": f"uid-{name}",
        "labels": {"app.kubernetes.io/name": app},
    }
    if owner:
        meta["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": owner,
                "name": f"{app}-x",
                "uid": "o",
                "controller": True,
            }
        ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {"nodeName": node_name, "containers": [{"name": "c", "image": "i:1"}]},
        "status": {"phase": "Running"},
    }


# --------------------------------------------------------------------------------------------
# The guard


REFUSED_CALLS = [
    ("probe kube_context_allowed", lambda: probes.kube_context_allowed()),
    ("probe replica_counts", lambda: probes.replica_counts(NS)),
    ("probe ready_replicas_at_least", lambda: probes.ready_replicas_at_least("agent", 1, NS)),
    ("probe hpa_can_scale", lambda: probes.hpa_can_scale("agent", NS)),
    ("probe hpa_scales_out_within", lambda: probes.hpa_scales_out_within("agent", 5, 1, NS)),
    (
        "probe rollout_completes_without_unavailable",
        lambda: probes.rollout_completes_without_unavailable("agent", NS, 1),
    ),
    ("action drain_node", lambda: actions.drain_node(timeout_s=1)),
    ("action terminate_job_holder_pod", lambda: actions.terminate_job_holder_pod(wait_s=1)),
    ("action uncordon_nodes", lambda: actions.uncordon_nodes()),
]


@pytest.mark.parametrize(("what", "call"), REFUSED_CALLS, ids=[w for w, _ in REFUSED_CALLS])
def test_contract_a_prod_context_is_refused_before_any_api_call(
    fake_cluster: FakeCluster, kubeconfig: Any, what: str, call: Any
) -> None:
    kubeconfig(["prod-eu", "kind-stampede"], current="prod-eu")
    fake_cluster.add("v1/nodes", None, node("w1"))
    with pytest.raises(InterruptExecution) as refused:
        call()
    message = str(refused.value)
    assert "'prod-eu'" in message and "kind-*" in message and "current-context" in message
    assert fake_cluster.calls() == [], f"{what} called the API of a refused cluster"


def test_contract_kubernetes_context_env_wins_over_current_context(
    fake_cluster: FakeCluster, kubeconfig: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guard vets the context chaosk8s will use: KUBERNETES_CONTEXT, not current-context."""
    kubeconfig(["prod-eu", "kind-stampede"], current="kind-stampede")
    monkeypatch.setenv("KUBERNETES_CONTEXT", "prod-eu")
    with pytest.raises(InterruptExecution, match=r"'prod-eu' \(KUBERNETES_CONTEXT\)"):
        probes.replica_counts(NS)
    assert fake_cluster.calls() == []


def test_contract_expected_context_must_match(fake_cluster: FakeCluster, kubeconfig: Any) -> None:
    """An experiment aimed at kind-stampede never runs against another (even allowed) cluster."""
    kubeconfig(["kind-other", "kind-stampede"], current="kind-other")
    with pytest.raises(InterruptExecution, match=r"expects 'kind-stampede'.*'kind-other'"):
        probes.replica_counts(NS, configuration={"kube_context": "kind-stampede"})
    assert fake_cluster.calls() == []


def test_contract_unknown_context_name_is_refused(
    fake_cluster: FakeCluster, kubeconfig: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    kubeconfig(["kind-stampede"], current="kind-stampede")
    monkeypatch.setenv("KUBERNETES_CONTEXT", "kind-typo")
    with pytest.raises(InterruptExecution, match=r"'kind-typo'.*not in kubeconfig"):
        probes.kube_context_allowed()
    assert fake_cluster.calls() == []


def test_contract_no_current_context_is_refused(fake_cluster: FakeCluster, kubeconfig: Any) -> None:
    kubeconfig(["kind-stampede"], current=None)
    with pytest.raises(InterruptExecution, match=r"no current-context"):
        probes.kube_context_allowed()
    assert fake_cluster.calls() == []


def test_contract_no_kubeconfig_means_no_guessing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a kubeconfig (and not in a pod) chaosk8s would fall back to localhost: refused."""
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.delenv("CHAOSTOOLKIT_IN_POD", raising=False)
    monkeypatch.delenv("KUBERNETES_HOST", raising=False)
    with pytest.raises(InterruptExecution, match=r"'host:http://localhost'"):
        probes.kube_context_allowed()


def test_contract_the_allow_list_is_configurable(
    fake_cluster: FakeCluster, kubeconfig: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond kind: allow-list a real cluster explicitly, then calls go through."""
    kubeconfig(["prod-eu"], current="prod-eu")
    fake_cluster.add("apps/v1/deployments", NS, deployment("agent", 3, 3))
    assert probes.kube_context_allowed("staging-*,prod-eu") is True
    assert probes.kube_context_allowed(configuration={"kube_context_allowlist": "prod-*"})
    monkeypatch.setenv("STAMPEDE_KUBE_CONTEXTS", "prod-eu")
    assert probes.replica_counts(NS) == {"agent": 3}
    assert fake_cluster.calls()[0] == f"GET /apis/apps/v1/namespaces/{NS}/deployments"


def test_contract_chaosk8s_reaches_the_cluster_the_guard_vetted(
    fake_cluster: FakeCluster, kubeconfig: Any
) -> None:
    """chaosk8s's own activities resolve the same context: they hit the same fake API."""
    from chaosk8s.deployment.probes import deployment_available_and_healthy

    kubeconfig(["kind-stampede"], current="kind-stampede")
    fake_cluster.add("apps/v1/deployments", NS, deployment("agent", 3, 3))
    assert probes.kube_context_allowed() is True
    assert fake_cluster.calls() == []
    assert deployment_available_and_healthy("agent", ns=NS) is True
    assert fake_cluster.calls() == [f"GET /apis/apps/v1/namespaces/{NS}/deployments"]


# --------------------------------------------------------------------------------------------
# Probes


def test_contract_replica_counts_lists_deployments_and_hpas(
    fake_cluster: FakeCluster, kubeconfig: Any
) -> None:
    kubeconfig(["kind-stampede"], current="kind-stampede")
    fake_cluster.add("apps/v1/deployments", NS, deployment("agent", 5, 4))
    fake_cluster.add("apps/v1/deployments", NS, deployment("redis", 0, 0))
    fake_cluster.add("autoscaling/v2/horizontalpodautoscalers", NS, hpa(6))
    assert probes.replica_counts(NS) == {"agent": 4, "redis": 0, "hpa/agent": 6}
    assert fake_cluster.calls() == [
        f"GET /apis/apps/v1/namespaces/{NS}/deployments",
        f"GET /apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers",
    ]


def test_contract_replica_sampler_rows_match_samples_csv(
    fake_cluster: FakeCluster, kubeconfig: Any
) -> None:
    kubeconfig(["kind-stampede"], current="kind-stampede")
    fake_cluster.add("apps/v1/deployments", NS, deployment("agent", 3, 3))
    fake_cluster.add("autoscaling/v2/horizontalpodautoscalers", NS, hpa(4))
    rows = kind.ReplicaSampler("kind-stampede", NS).rows("hpa-scale-out", ts=1.5)
    assert rows == [
        {
            "ts": 1.5,
            "experiment": "hpa-scale-out",
            "metric": "replicas",
            "label": "agent",
            "value": 3.0,
        },
        {
            "ts": 1.5,
            "experiment": "hpa-scale-out",
            "metric": "replicas",
            "label": "hpa/agent",
            "value": 4.0,
        },
    ]


def test_contract_ready_replicas_at_least(fake_cluster: FakeCluster, kubeconfig: Any) -> None:
    kubeconfig(["kind-stampede"], current="kind-stampede")
    fake_cluster.add("apps/v1/deployments", NS, deployment("agent", 5, 4))
    assert probes.ready_replicas_at_least("agent", 4, NS) is True
    assert probes.ready_replicas_at_least("agent", 5, NS, raise_on_fewer=False) is False
    with pytest.raises(
        ActivityFailed, match=r"4 ready replicas \(5 desired\); expected at least 5"
    ):
        probes.ready_replicas_at_least("agent", 5, NS)
    assert fake_cluster.calls() == [f"GET /apis/apps/v1/namespaces/{NS}/deployments/agent"] * 3


def test_contract_hpa_can_scale_reads_the_conditions(
    fake_cluster: FakeCluster, kubeconfig: Any
) -> None:
    kubeconfig(["kind-stampede"], current="kind-stampede")
    fake_cluster.add("autoscaling/v2/horizontalpodautoscalers", NS, hpa(3))
    assert probes.hpa_can_scale("agent", NS) is True
    assert fake_cluster.calls() == [
        f"GET /apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers/agent"
    ]


def test_contract_hpa_without_metrics_fails_with_the_reason(
    fake_cluster: FakeCluster, kubeconfig: Any
) -> None:
    kubeconfig(["kind-stampede"], current="kind-stampede")
    fake_cluster.add("autoscaling/v2/horizontalpodautoscalers", NS, hpa(3, scaling_active=False))
    with pytest.raises(ActivityFailed, match=r"ScalingActive.*FailedGetResourceMetric: unable"):
        probes.hpa_can_scale("agent", NS)
    assert probes.hpa_can_scale("agent", NS, raise_on_unable=False) is False


def test_contract_hpa_scale_out_in_time(fake_cluster: FakeCluster, kubeconfig: Any) -> None:
    kubeconfig(["kind-stampede"], current="kind-stampede")
    fake_cluster.add("autoscaling/v2/horizontalpodautoscalers", NS, hpa(5))
    fake_cluster.add("apps/v1/deployments", NS, deployment("agent", 5, 5))
    took = probes.hpa_scales_out_within("agent", 5, 10, NS)
    assert 0 <= took < 10
    assert fake_cluster.calls() == [
        f"GET /apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers/agent",
        f"GET /apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers/agent",
        f"GET /apis/apps/v1/namespaces/{NS}/deployments/agent",
    ]


def test_contract_hpa_scale_out_too_late_names_the_counts(
    fake_cluster: FakeCluster, kubeconfig: Any
) -> None:
    kubeconfig(["kind-stampede"], current="kind-stampede")
    fake_cluster.add("autoscaling/v2/horizontalpodautoscalers", NS, hpa(4))
    fake_cluster.add("apps/v1/deployments", NS, deployment("agent", 4, 3))
    with pytest.raises(ActivityFailed, match=r"3 ready replicas .*HPA desired 4.* at least 5"):
        probes.hpa_scales_out_within("agent", 5, 0.3, NS, poll_s=0.1)


def test_contract_rollout_done_returns_the_facts(
    fake_cluster: FakeCluster, kubeconfig: Any
) -> None:
    kubeconfig(["kind-stampede"], current="kind-stampede")
    fake_cluster.add("apps/v1/deployments", NS, deployment("agent", 3, 3))
    facts = probes.rollout_completes_without_unavailable("agent", NS, 5)
    assert facts["deployment"] == f"{NS}/agent" and facts["min_available"] == 3
    assert fake_cluster.calls() == [f"GET /apis/apps/v1/namespaces/{NS}/deployments/agent"]


def _later(delay_s: float, change: Any) -> threading.Timer:
    timer = threading.Timer(delay_s, change)
    timer.start()
    return timer


def test_contract_rollout_losing_a_replica_fails(
    fake_cluster: FakeCluster, kubeconfig: Any
) -> None:
    kubeconfig(["kind-stampede"], current="kind-stampede")
    fake_cluster.add("apps/v1/deployments", NS, deployment("agent", 3, 3, updated=1, total=4))
    timer = _later(
        0.3,
        lambda: fake_cluster.add(
            "apps/v1/deployments", NS, deployment("agent", 3, 2, updated=1, total=4)
        ),
    )
    try:
        with pytest.raises(
            ActivityFailed, match=r"2 available replicas .* at least 3 .*maxUnavailable 0"
        ):
            probes.rollout_completes_without_unavailable("agent", NS, 5, poll_s=0.1)
    finally:
        timer.cancel()
    assert len(fake_cluster.calls()) >= 2


def test_contract_rollout_with_hpa_scale_up_is_not_a_loss(
    fake_cluster: FakeCluster, kubeconfig: Any
) -> None:
    """Desired jumps from 3 to 5 mid-rollout: 3 still serve, nothing was lost."""
    kubeconfig(["kind-stampede"], current="kind-stampede")
    fake_cluster.add("apps/v1/deployments", NS, deployment("agent", 3, 3, updated=1, total=4))
    t1 = _later(
        0.3,
        lambda: fake_cluster.add(
            "apps/v1/deployments", NS, deployment("agent", 5, 3, updated=2, total=6)
        ),
    )
    t2 = _later(0.8, lambda: fake_cluster.add("apps/v1/deployments", NS, deployment("agent", 5, 5)))
    try:
        facts = probes.rollout_completes_without_unavailable("agent", NS, 5, poll_s=0.1)
    finally:
        t1.cancel()
        t2.cancel()
    assert facts["desired"] == 5 and facts["available_at_start"] == 3
    assert facts["min_available"] == 3


def test_contract_rollout_not_observed_yet_times_out(
    fake_cluster: FakeCluster, kubeconfig: Any
) -> None:
    """Right after the restart the controller has not seen the new generation: not done."""
    kubeconfig(["kind-stampede"], current="kind-stampede")
    fake_cluster.add("apps/v1/deployments", NS, deployment("agent", 3, 3, generation=3, observed=2))
    with pytest.raises(ActivityFailed, match=r"rollout not finished after 0.3 s"):
        probes.rollout_completes_without_unavailable("agent", NS, 0.3, poll_s=0.1)
    assert len(fake_cluster.calls()) >= 2


# --------------------------------------------------------------------------------------------
# Actions


def _drain_cluster(fake_cluster: FakeCluster) -> None:
    fake_cluster.add("v1/nodes", None, node("cp"))
    fake_cluster.add("v1/nodes", None, node("w1"))
    fake_cluster.add("v1/nodes", None, node("w2"))
    fake_cluster.add("v1/pods", NS, pod("agent-a", "w1"))
    fake_cluster.add("v1/pods", NS, pod("agent-b", "w1"))
    fake_cluster.add("v1/pods", NS, pod("agent-c", "w2"))
    fake_cluster.add("v1/pods", NS, pod("toolbox-a", "cp", app="toolbox"))
    fake_cluster.add(
        "v1/pods",
        "kube-system",
        pod("kindnet-w1", "w1", namespace="kube-system", app="kindnet", owner="DaemonSet"),
    )


def test_contract_drain_node_cordons_evicts_retries_and_waits(
    fake_cluster: FakeCluster, kubeconfig: Any
) -> None:
    kubeconfig(["kind-stampede"], current="kind-stampede")
    _drain_cluster(fake_cluster)
    fake_cluster.refuse["agent-b"] = 2  # the PDB refuses the second eviction twice
    result = actions.drain_node("app.kubernetes.io/name=agent", NS, timeout_s=20)

    assert result["node"] == "w1"
    assert result["evicted"] == [f"{NS}/agent-a", f"{NS}/agent-b"]
    calls = fake_cluster.calls()
    assert calls[:3] == [
        "GET /api/v1/nodes",
        f"GET /api/v1/namespaces/{NS}/pods",
        "GET /api/v1/pods",
    ]
    assert calls[3] == "PATCH /api/v1/nodes/w1"
    evictions = [c for c in calls if c.endswith("/eviction")]
    assert evictions == [
        f"POST /api/v1/namespaces/{NS}/pods/agent-a/eviction",
        f"POST /api/v1/namespaces/{NS}/pods/agent-b/eviction",
        f"POST /api/v1/namespaces/{NS}/pods/agent-b/eviction",
        f"POST /api/v1/namespaces/{NS}/pods/agent-b/eviction",
    ]
    assert not any("kindnet" in c or "agent-c" in c or "toolbox" in c for c in calls)
    patch = next(r for r in fake_cluster.requests() if r.method.value == "PATCH")
    assert patch.data["spec"] == {"unschedulable": True}
    assert actions.CORDON_ANNOTATION in patch.data["metadata"]["annotations"]
    assert {
        r.params.get("labelSelector")
        for r in fake_cluster.requests()
        if r.url.path.endswith(f"{NS}/pods")
    } == {"app.kubernetes.io/name=agent"}
    assert {
        r.params.get("fieldSelector")
        for r in fake_cluster.requests()
        if r.url.path == "/api/v1/pods"
    } == {"spec.nodeName=w1"}


def test_contract_drain_node_gives_up_when_the_pdb_never_allows(
    fake_cluster: FakeCluster, kubeconfig: Any
) -> None:
    kubeconfig(["kind-stampede"], current="kind-stampede")
    _drain_cluster(fake_cluster)
    fake_cluster.refuse["agent-b"] = 10_000
    with pytest.raises(ActivityFailed, match=f"node w1: evictions still refused .*{NS}/agent-b"):
        actions.drain_node("app.kubernetes.io/name=agent", NS, timeout_s=1.5)


def test_contract_drain_node_refuses_to_lose_unmanaged_pods(
    fake_cluster: FakeCluster, kubeconfig: Any
) -> None:
    kubeconfig(["kind-stampede"], current="kind-stampede")
    _drain_cluster(fake_cluster)
    fake_cluster.add(
        "v1/pods", "default", pod("bare", "w1", namespace="default", app="x", owner=None)
    )
    with pytest.raises(ActivityFailed, match=r"without a controller would be lost.*default/bare"):
        actions.drain_node("app.kubernetes.io/name=agent", NS, timeout_s=5)
    assert not any(c.startswith("PATCH") or c.endswith("/eviction") for c in fake_cluster.calls())


def test_contract_drain_node_with_nothing_to_drain_fails(
    fake_cluster: FakeCluster, kubeconfig: Any
) -> None:
    kubeconfig(["kind-stampede"], current="kind-stampede")
    fake_cluster.add("v1/nodes", None, node("w1"))
    with pytest.raises(ActivityFailed, match=r"no schedulable node runs a pod matching"):
        actions.drain_node("app.kubernetes.io/name=agent", NS, timeout_s=5)


def test_contract_uncordon_nodes_touches_only_nodes_an_experiment_cordoned(
    fake_cluster: FakeCluster, kubeconfig: Any
) -> None:
    kubeconfig(["kind-stampede"], current="kind-stampede")
    fake_cluster.add(
        "v1/nodes",
        None,
        node("w1", unschedulable=True, annotations={actions.CORDON_ANNOTATION: "x"}),
    )
    fake_cluster.add("v1/nodes", None, node("w2", unschedulable=True))  # cordoned by a human
    assert actions.uncordon_nodes() == ["w1"]
    assert fake_cluster.calls() == ["GET /api/v1/nodes", "PATCH /api/v1/nodes/w1"]
    patch = fake_cluster.requests()[-1]
    assert patch.data == {
        "metadata": {"annotations": {actions.CORDON_ANNOTATION: None}},
        "spec": {"unschedulable": False},
    }


# --------------------------------------------------------------------------------------------
# terminate_job_holder_pod


def _ready_pod(name: str, ready: bool = True) -> dict[str, Any]:
    obj = pod(name, "w1")
    obj["status"]["conditions"] = [{"type": "Ready", "status": "True" if ready else "False"}]
    return obj


def _running(n: int) -> str:
    """A multiprocess exposition: two workers' ``agent_jobs_running`` (n and 0), merged."""
    return (
        "# TYPE agent_jobs_running gauge\n"
        f'agent_jobs_running{{pid="11"}} {n}.0\nagent_jobs_running{{pid="12"}} 0.0\n'
        "# TYPE agent_jobs_open gauge\nagent_jobs_open 40.0\n"
    )


def test_contract_terminate_job_holder_pod_kills_the_ready_pod_running_the_most_jobs(
    fake_cluster: FakeCluster, kubeconfig: Any
) -> None:
    kubeconfig(["kind-stampede"], current="kind-stampede")
    for name, ready in (
        ("agent-a", True),
        ("agent-b", True),
        ("agent-c", False),
        ("agent-d", True),
    ):
        fake_cluster.add("v1/pods", NS, _ready_pod(name, ready))
    fake_cluster.pod_metrics = {
        "agent-a": _running(1),
        "agent-b": _running(3),
        "agent-c": _running(9),
    }
    result = actions.terminate_job_holder_pod(ns=NS, wait_s=5)

    assert result["killed"] == "agent-b" and result["jobs_held"] == 3
    assert result["held_by_pod"] == {"agent-a": 1, "agent-b": 3}  # agent-c is not ready
    assert list(result["unreadable"]) == ["agent-d"]  # 503 from the proxy: left out
    calls = fake_cluster.calls()
    assert [c for c in calls if c.startswith("DELETE")] == [
        f"DELETE /api/v1/namespaces/{NS}/pods/agent-b"
    ]
    assert f"GET /api/v1/namespaces/{NS}/pods/agent-b:8000/proxy/metrics" in calls
    assert not any("agent-c:" in c for c in calls)  # a pod not ready is not read
    delete = next(r for r in fake_cluster.requests() if r.method.value == "DELETE")
    assert delete.params.get("gracePeriodSeconds") == "0"  # no SIGTERM grace


def test_contract_terminate_job_holder_pod_refuses_when_no_pod_runs_a_job(
    fake_cluster: FakeCluster, kubeconfig: Any
) -> None:
    kubeconfig(["kind-stampede"], current="kind-stampede")
    for name in ("agent-a", "agent-b"):
        fake_cluster.add("v1/pods", NS, _ready_pod(name))
        fake_cluster.pod_metrics[name] = _running(0)
    with pytest.raises(ActivityFailed, match=r"ran a durable job within 1 s .*nothing in flight"):
        actions.terminate_job_holder_pod(ns=NS, wait_s=1)
    assert not [c for c in fake_cluster.calls() if c.startswith("DELETE")]
