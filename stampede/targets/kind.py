"""The ``kind`` target: the reference agent deployed on a local kind cluster (``stampede.kind``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stampede import kind
from stampede.kind.podmetrics import METRICS_TIMEOUT_S, AgentPods, pods_url
from stampede.targets._heal import clear_left_faults
from stampede.targets._reference import reference_alerts
from stampede.targets.base import (
    Capabilities,
    FaultEndpoint,
    MetricsSource,
    Sample,
    Say,
    TargetInfo,
    TargetStatus,
)


@dataclass(frozen=True)
class PodMetricsSource(MetricsSource):
    """The ``agent`` metrics source on kind: every ready pod, through the API server's proxy."""

    pods: AgentPods | None = None

    def fetch(self, timeout_s: float = METRICS_TIMEOUT_S) -> str:
        """The merged exposition of every ready agent pod, labelled by pod (``AgentPods``)."""
        assert self.pods is not None
        return self.pods.fetch()


class KindTarget:
    """`stampede suite --target kind`: reuse a ready cluster, else create/deploy what is missing."""

    name = "kind"
    capabilities = Capabilities(
        counts_replicas=True,
        counts_workers=False,
        counts_lost_records=True,
        starts_agent=True,
    )

    def __init__(self, weakness: str | None = None, cluster: str = kind.CLUSTER_NAME) -> None:
        self.weakness = weakness
        self.cluster = cluster
        self.context = kind.kube_context(cluster)
        self.started_by_us = False  # the suite deletes the cluster only if it created it
        self.endpoints: kind.Endpoints | None = None
        self._sampler = kind.ReplicaSampler(self.context, kind.NAMESPACE)
        self._pods = PodMetricsSource(
            "agent", pods_url(self.context), pods=AgentPods(self.context, kind.NAMESPACE)
        )

    def up(self, say: Say) -> TargetInfo:
        """Create the cluster and deploy when missing, not ready or running other sources."""
        created = kind.up(self.cluster, say=say)
        self.started_by_us = created
        problem = None if created else kind.ready_problem(kind.status(self.cluster))
        digest = kind.source_digest()
        if not created and problem is None and kind.deployed_source(self.context) != digest:
            problem = f"the agent runs an image built from other sources (now {digest})"
        if created or problem:
            if problem:
                say(f"kind cluster {self.cluster!r}: {problem}; deploying")
            kind.deploy(self.cluster, build=True, say=say)
            action = "started" if created else f"deployed ({problem})"
        else:
            action = "reused"
        if kind.agent_weakness(self.context) != self.weakness:
            kind.set_agent_weakness(self.context, self.weakness, say=say)
            action = f"{action}, weakness {self.weakness or 'none'}"
        found = self.endpoints = kind.endpoints(self.cluster)
        return TargetInfo(
            agent_url=found.agent_url,
            weakness=self.weakness,
            action=action,
            details={
                "cluster": self.cluster,
                "context": found.context,
                "namespace": found.namespace,
                "toolbox_url": found.toolbox_url,
                "image": kind.IMAGE,
                "image_id": kind.image_id(kind.IMAGE),
                "harness_image_id": kind.image_id(kind.HARNESS_IMAGE),
                "source_digest": digest,
            },
        )

    def down(self, say: Say) -> None:
        """Delete the kind cluster."""
        kind.down(self.cluster, say=say)

    def status(self) -> TargetStatus:
        """Whether the cluster exists and every node and deployment is ready."""
        report = kind.status(self.cluster)
        problem = kind.ready_problem(report)
        return TargetStatus(problem is None, problem, report)

    def _found(self) -> kind.Endpoints:
        if self.endpoints is None:
            self.endpoints = kind.endpoints(self.cluster)
        return self.endpoints

    # -- during the run
    def chaos_env(self) -> dict[str, str]:
        """Context, namespace, URLs and token experiments/kind/*.json read."""
        return kind.chaos_env(self._found())

    def metrics_sources(self) -> list[MetricsSource]:
        """Every agent pod's /metrics through the API server (folded like local workers)."""
        return [self._pods]

    def fetch_metrics(self) -> str:
        """The agent's Prometheus text; raises on failure."""
        return self.metrics_sources()[0].fetch()

    def extra_samples(self) -> list[Sample]:
        """Ready replicas per Deployment and the HPA's desired replicas."""
        return self._sampler.sample()

    def fault_endpoints(self) -> list[FaultEndpoint]:
        """The toolbox's fault API through its node port, with the token from the Secret."""
        found = self._found()
        return [FaultEndpoint("toolbox", found.toolbox_url, found.toolbox_token)]

    def probe_alerts(self) -> list[dict[str, Any]]:
        """The reference agent's alerts."""
        return reference_alerts()

    def heal(self) -> list[str]:
        """Clear toolbox faults, uncordon nodes and scale redis back if an experiment left them."""
        done = clear_left_faults(self.fault_endpoints())
        return done + kind.heal_cluster(self._found())


def suite_target(weakness: str | None = None, cluster: str = kind.CLUSTER_NAME) -> KindTarget:
    """The kind target for `stampede suite --target kind` (see ``make_target``)."""
    return KindTarget(weakness=weakness, cluster=cluster)
