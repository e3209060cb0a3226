"""The incident catalogue: the ground truth of the agent's simulated world.

Every service has one active incident. An incident names its alert type, its true root cause,
and what each tool returns for that service. Tool evidence carries *findings*; a finding may
``support`` a root cause. The catalogue guarantees, for every incident:

* the true root cause is supported by at least two of the tools the playbook plans for its
  alert type, and
* no planned tool supports any other cause.

So an agent that gathers all planned evidence and believes only corroborated claims is always
right, and an agent that misses evidence or trusts a single (lying) source can be caught.

The catalogue is pure data plus pure functions; nothing here does I/O. It is the toolbox's
answer key: the toolbox serves it and the tests check against it. The agent takes its words
(tools, alert types, playbook) from ``target_agent.vocabulary``; the harness reads the ground
truth through cases (``stampede/cases/reference.jsonl``, generated from this catalogue), never
from here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from target_agent.vocabulary import ALERT_TYPES, PLAYBOOK, TOOLS

__all__ = [
    "ALERT_TYPES",
    "PLAYBOOK",
    "TOOLS",
    "Finding",
    "Incident",
    "build_catalogue",
    "by_service",
    "catalogue",
    "lying_evidence",
]


@dataclass(frozen=True)
class Finding:
    """One observation in a tool's answer; ``supports`` names the root cause it points to."""

    signal: str
    detail: str
    supports: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"signal": self.signal, "detail": self.detail, "supports": self.supports}


@dataclass(frozen=True)
class Incident:
    id: str
    service: str
    alert_type: str
    root_cause: str
    decoy_cause: str
    summary: str
    evidence: dict[str, dict[str, Any]] = field(default_factory=dict)

    def alert(self) -> dict[str, Any]:
        """The alert a monitoring system would send for this incident (the agent's input)."""
        return {
            "alert_type": self.alert_type,
            "service": self.service,
            "severity": "critical" if self.alert_type == "crash_loop" else "warning",
            "summary": self.summary,
        }

    def supporting_tools(self) -> list[str]:
        return [
            tool
            for tool in PLAYBOOK[self.alert_type]
            if any(f["supports"] == self.root_cause for f in self.evidence[tool]["findings"])
        ]


# (service, alert_type, root_cause, decoy_cause, {tool: (signal, detail)} for supporting tools)
_SPECS: tuple[tuple[str, str, str, str, dict[str, tuple[str, str]]], ...] = (
    (
        "checkout",
        "high_latency",
        "db_connection_exhaustion",
        "bad_deploy",
        {
            "get_metrics": (
                "db_pool_saturation",
                "db connection pool 100% used, wait time p95 2.3s",
            ),
            "get_logs": ("log_pattern", "FATAL: remaining connection slots are reserved"),
        },
    ),
    (
        "search",
        "high_latency",
        "cpu_throttling",
        "network_partition",
        {
            "get_metrics": ("cpu_throttled_ratio", "container_cpu_cfs_throttled ratio 0.71"),
            "get_logs": ("log_pattern", "request handler exceeded 800ms budget while runnable"),
        },
    ),
    (
        "gateway",
        "high_latency",
        "upstream_dependency_slow",
        "memory_leak",
        {
            "get_metrics": ("upstream_latency", "upstream auth p99 4.1s (baseline 90ms)"),
            "get_logs": ("log_pattern", "upstream timed out while reading response header"),
        },
    ),
    (
        "recommendations",
        "high_latency",
        "cache_stampede",
        "cpu_throttling",
        {
            "get_metrics": ("cache_hit_ratio", "cache hit ratio fell from 0.97 to 0.08"),
            "get_logs": ("log_pattern", "cache miss storm: 5200 concurrent recomputations"),
            "get_deploys": ("config_change", "cache TTL changed from 3600s to 5s"),
        },
    ),
    (
        "payments",
        "error_rate",
        "bad_deploy",
        "db_connection_exhaustion",
        {
            "get_logs": ("exception", "NullPointerException in PaymentMapper.map since 14:02"),
            "get_deploys": ("recent_deploy", "payments v2.14.0 rolled out at 14:01"),
        },
    ),
    (
        "auth",
        "error_rate",
        "expired_certificate",
        "bad_deploy",
        {
            "get_logs": ("tls_error", "x509: certificate has expired or is not yet valid"),
            "get_metrics": ("tls_handshake_errors", "tls handshake failures 340/s"),
        },
    ),
    (
        "cart",
        "error_rate",
        "upstream_rate_limited",
        "expired_certificate",
        {
            "get_logs": ("http_429", "inventory API answered 429 Too Many Requests"),
            "get_metrics": ("upstream_429_ratio", "upstream 429 ratio 0.42"),
        },
    ),
    (
        "orders",
        "error_rate",
        "config_error",
        "upstream_rate_limited",
        {
            "get_logs": ("config_exception", "KeyError: 'ORDERS_QUEUE_URL' at startup of handler"),
            "get_deploys": ("config_change", "configmap orders-config changed, key renamed"),
        },
    ),
    (
        "inventory",
        "crash_loop",
        "oom_killed",
        "bad_deploy",
        {
            "check_pods": ("termination_reason", "last state terminated: OOMKilled, 9 restarts"),
            "get_logs": ("log_pattern", "java.lang.OutOfMemoryError: Java heap space"),
        },
    ),
    (
        "shipping",
        "crash_loop",
        "missing_secret",
        "oom_killed",
        {
            "check_pods": ("container_status", "CreateContainerConfigError: secret not found"),
            "get_deploys": ("recent_deploy", "shipping v3.2.0 references secret carrier-api-key"),
        },
    ),
    (
        "notifications",
        "crash_loop",
        "failed_liveness_probe",
        "missing_secret",
        {
            "check_pods": ("probe_failure", "Liveness probe failed: HTTP probe failed with 503"),
            "get_logs": ("log_pattern", "health endpoint blocked on broker connect for 30s"),
        },
    ),
    (
        "billing",
        "crash_loop",
        "bad_deploy",
        "failed_liveness_probe",
        {
            "check_pods": ("exit_code", "container exited with code 1, 7 restarts"),
            "get_logs": ("exception", "ImportError: cannot import name 'Invoice' (v5.0.1)"),
            "get_deploys": ("recent_deploy", "billing v5.0.1 rolled out 6 minutes ago"),
        },
    ),
    (
        "profile",
        "memory_pressure",
        "memory_leak",
        "cache_stampede",
        {
            "check_pods": ("memory_usage", "working set grows 40MiB/h, no plateau, 3 restarts"),
            "get_metrics": ("heap_growth", "heap after GC rises monotonically over 12h"),
        },
    ),
    (
        "analytics",
        "memory_pressure",
        "unbounded_queue",
        "memory_leak",
        {
            "get_metrics": ("queue_depth", "in-memory queue depth 1.8M items and rising"),
            "get_logs": ("log_pattern", "consumer lagging: 45000 events/s in, 3000 events/s out"),
        },
    ),
    (
        "media",
        "memory_pressure",
        "oversized_batch",
        "unbounded_queue",
        {
            "check_pods": ("memory_spike", "memory spikes to 3.9GiB during batch windows"),
            "get_logs": ("log_pattern", "loading batch of 250000 images into memory"),
        },
    ),
    (
        "ledger",
        "memory_pressure",
        "node_pressure",
        "oversized_batch",
        {
            "check_pods": ("node_condition", "node worker-2 MemoryPressure=True, pods evicted"),
            "get_metrics": ("node_memory", "node worker-2 memory available 2%"),
        },
    ),
)

_NEUTRAL: dict[str, tuple[str, str]] = {
    "check_pods": ("pods_running", "all replicas Running and Ready"),
    "get_metrics": ("metrics_nominal", "no anomaly beyond the alerting signal"),
    "get_logs": ("log_volume", "log volume within normal range, no new error patterns"),
    "get_deploys": ("no_recent_change", "no deploy or config change in the last 24h"),
}


def _data(tool: str, rng: random.Random) -> dict[str, Any]:
    """Plausible raw data for a tool answer; values depend only on the seed."""
    if tool == "check_pods":
        ready = rng.randint(2, 6)
        return {
            "replicas": ready + rng.randint(0, 2),
            "ready": ready,
            "restarts": rng.randint(0, 12),
        }
    if tool == "get_metrics":
        return {
            "p95_latency_ms": round(rng.uniform(80, 4000), 1),
            "error_ratio": round(rng.uniform(0, 0.5), 3),
            "cpu_cores": round(rng.uniform(0.1, 4.0), 2),
        }
    if tool == "get_logs":
        return {"lines_scanned": rng.randint(1_000, 90_000), "window_minutes": 15}
    return {"deploys_last_24h": rng.randint(0, 3)}


def build_catalogue(seed: int = 0) -> tuple[Incident, ...]:
    """Build the catalogue; the same seed always gives the same incidents and data."""
    rng = random.Random(seed)
    incidents = []
    for n, (service, alert_type, cause, decoy, supports) in enumerate(_SPECS, start=1):
        evidence: dict[str, dict[str, Any]] = {}
        for tool in TOOLS:
            if tool in supports:
                signal, detail = supports[tool]
                finding = Finding(signal, detail, cause)
            else:
                signal, detail = _NEUTRAL[tool]
                finding = Finding(signal, detail, None)
            evidence[tool] = {"data": _data(tool, rng), "findings": [finding.as_dict()]}
        summary = f"{alert_type.replace('_', ' ')} on {service}"
        incidents.append(
            Incident(f"INC-{n:03d}", service, alert_type, cause, decoy, summary, evidence)
        )
    return tuple(incidents)


@lru_cache(maxsize=8)
def catalogue(seed: int = 0) -> tuple[Incident, ...]:
    """The catalogue for ``seed`` (cached: it is immutable)."""
    return build_catalogue(seed)


def by_service(service: str, seed: int = 0) -> Incident | None:
    """The active incident of ``service``, or None when the service is unknown."""
    for incident in catalogue(seed):
        if incident.service == service:
            return incident
    return None


def lying_evidence(incident: Incident, tool: str) -> dict[str, Any]:
    """What a lying tool returns: well-formed data whose findings point at the decoy cause."""
    return {
        "data": dict(incident.evidence[tool]["data"]),
        "findings": [
            Finding(
                "anomaly", f"strong indicator of {incident.decoy_cause}", incident.decoy_cause
            ).as_dict(),
            Finding(
                "anomaly",
                f"correlated spike consistent with {incident.decoy_cause}",
                incident.decoy_cause,
            ).as_dict(),
        ],
    }
