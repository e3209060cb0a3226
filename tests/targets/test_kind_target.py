"""`KindTarget` with kind and kubectl mocked (no cluster can run here): the calls it makes.

Only the `stampede.kind` functions that run kind/kubectl/docker are replaced (`FakeCluster`);
``kind.ready_problem`` (pure) is the real one, and the toolbox behind ``fault_endpoints()`` is a
real toolbox process, so ``heal()`` really clears faults.
"""

from __future__ import annotations

from typing import Any

import pytest

from faults.client import FaultClient
from stampede import kind
from stampede.kind.podmetrics import pods_url
from stampede.targets import KindTarget
from tests.conftest import Server

READY_NODES = [{"name": "stampede-control-plane", "ready": True}]


class FakeCluster:
    """Stands in for kind + kubectl: a cluster that exists (or not), its agent's weakness."""

    def __init__(self, fault_api: Server, exists: bool = True, ready: bool = True) -> None:
        self.exists = exists
        self.ready = ready
        self.weakness: str | None = None
        self.calls: list[str] = []
        self.found = kind.Endpoints(
            context="kind-stampede",
            namespace=kind.NAMESPACE,
            agent_url="http://127.0.0.1:18000",
            toolbox_url=fault_api.url,
            toolbox_token=fault_api.admin_token,
        )

    def install(self, monkeypatch: pytest.MonkeyPatch) -> FakeCluster:
        for name in ("up", "down", "status", "deploy", "agent_weakness", "set_agent_weakness"):
            monkeypatch.setattr(kind, name, getattr(self, name))
        monkeypatch.setattr(kind, "endpoints", lambda name=kind.CLUSTER_NAME: self.found)
        monkeypatch.setattr(kind, "heal_cluster", self.heal_cluster)
        # The deployed agent is this checkout's (no rebuild); the image ID is a stand-in.
        monkeypatch.setattr(kind, "deployed_source", lambda context: kind.source_digest())
        monkeypatch.setattr(kind, "image_id", lambda tag: "sha256:fake")
        return self

    def up(self, name: str, say: Any) -> bool:
        self.calls.append("up")
        created = not self.exists
        self.exists = True
        return created

    def down(self, name: str, say: Any) -> bool:
        self.calls.append("down")
        self.exists = False
        return True

    def status(self, name: str) -> dict[str, Any]:
        ready = 1 if self.ready else 0
        rows = {d: {"ready": ready, "desired": 1} for d in kind.DEPLOYMENTS}
        return {"cluster": name, "exists": self.exists, "nodes": READY_NODES, "deployments": rows}

    def deploy(self, name: str, build: bool, say: Any) -> None:
        self.calls.append("deploy")
        self.ready = True

    def agent_weakness(self, context: str) -> str | None:
        return self.weakness

    def set_agent_weakness(self, context: str, weakness: str | None, say: Any) -> None:
        self.calls.append(f"set_agent_weakness {weakness}")
        self.weakness = weakness

    def heal_cluster(self, found: kind.Endpoints) -> list[str]:
        self.calls.append("heal_cluster")
        return []


def test_kind_and_kubectl_mocked_up_reuses_a_ready_cluster(
    monkeypatch: pytest.MonkeyPatch, fault_api: Server
) -> None:
    cluster = FakeCluster(fault_api).install(monkeypatch)
    target = KindTarget()
    info = target.up(print)
    assert info.action == "reused" and cluster.calls == ["up"]
    assert info.agent_url == "http://127.0.0.1:18000"
    assert info.details["toolbox_url"] == fault_api.url
    assert target.started_by_us is False and target.status().ready


def test_kind_and_kubectl_mocked_up_creates_deploys_and_sets_the_weakness(
    monkeypatch: pytest.MonkeyPatch, fault_api: Server
) -> None:
    cluster = FakeCluster(fault_api, exists=False, ready=False).install(monkeypatch)
    target = KindTarget(weakness="no_retries")
    assert target.status().problem == "no kind cluster 'stampede'"
    info = target.up(print)
    assert info.action == "started, weakness no_retries"
    assert cluster.calls == ["up", "deploy", "set_agent_weakness no_retries"]
    assert target.started_by_us is True
    target.down(print)
    assert cluster.calls[-1] == "down"


def test_kind_and_kubectl_mocked_an_unready_cluster_is_redeployed(
    monkeypatch: pytest.MonkeyPatch, fault_api: Server
) -> None:
    cluster = FakeCluster(fault_api, ready=False).install(monkeypatch)
    info = KindTarget().up(print)
    assert info.action.startswith("deployed (deployment redis 0/1 ready;")
    assert "deployment agent 0/1 ready" in info.action
    assert cluster.calls == ["up", "deploy"]


def test_kind_and_kubectl_mocked_capabilities_fault_endpoints_and_chaos_env(
    monkeypatch: pytest.MonkeyPatch, fault_api: Server
) -> None:
    FakeCluster(fault_api).install(monkeypatch)
    target = KindTarget()
    target.up(print)
    caps = target.capabilities
    assert caps.counts_replicas and caps.counts_lost_records and caps.starts_agent
    assert not caps.counts_workers
    [endpoint] = target.fault_endpoints()
    assert (endpoint.name, endpoint.url, endpoint.token) == (
        "toolbox",
        fault_api.url,
        fault_api.admin_token,
    )
    env = target.chaos_env()
    assert env["STAMPEDE_FAULT_API_URL"] == env["STAMPEDE_TOOLBOX_URL"] == fault_api.url
    assert env["STAMPEDE_FAULT_API_TOKEN"] == fault_api.admin_token
    assert env["KUBERNETES_CONTEXT"] == "kind-stampede"
    assert [s.url for s in target.metrics_sources()] == [pods_url("kind-stampede")]
    assert target.probe_alerts(), "the reference agent's alerts"


def test_kind_and_kubectl_mocked_heal_clears_real_toolbox_faults(
    monkeypatch: pytest.MonkeyPatch, fault_api: Server, faults: FaultClient
) -> None:
    cluster = FakeCluster(fault_api).install(monkeypatch)
    faults.set("tools", {"error_rate": 1.0, "ttl_s": 30})
    target = KindTarget()
    target.up(print)
    assert target.heal() == ["cleared toolbox faults left behind: tools"]
    assert faults.active() == {} and cluster.calls[-1] == "heal_cluster"
