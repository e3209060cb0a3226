"""The agent's metrics on kind: every agent pod, scraped through the API server's pod proxy.

Through the NodePort each scrape reaches one random pod, so breaker state and in-flight describe
one pod and counters jump between pods (read as resets). Instead, each tick lists the ready
agent pods and reads ``/api/v1/namespaces/<ns>/pods/<pod>:8000/proxy/metrics`` for each (the
API server relays it; no NetworkPolicy or port mapping is involved), adds a ``pod="<name>"``
label to every sample, and returns one exposition. The sampler's metric map does not keep
``pod``, so it folds the pods' series exactly as it folds the local target's worker processes
(``pid``): breaker states and queue depth by max, everything else by sum (stampede/sampler.py).

A pod that does not answer is left out of that tick (counted in ``PodScrape.failed``), like a
worker that died between two local scrapes; no ready pod at all is an error (a failed scrape).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from stampede.kind.layout import AGENT, NAMESPACE

METRICS_TIMEOUT_S = 2.0  # per API call, like a direct scrape (stampede.targets.base)
AGENT_PORT = 8000
AGENT_SELECTOR = f"app.kubernetes.io/name={AGENT}"
POD_LABEL = "pod"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _sample_line(name: str, labels: dict[str, str], value: float) -> str:
    inner = ",".join(f'{key}="{_escape(val)}"' for key, val in sorted(labels.items()))
    return f"{name}{{{inner}}} {value!r}"


def merge_expositions(by_pod: dict[str, str]) -> str:
    """One Prometheus text exposition of every pod's, each sample labelled ``pod="<name>"``."""
    types: dict[str, str] = {}
    lines: dict[str, list[str]] = {}
    for pod, text in sorted(by_pod.items()):
        for family in text_string_to_metric_families(text):
            types.setdefault(family.name, family.type)
            out = lines.setdefault(family.name, [])
            for sample in family.samples:
                labels = {**sample.labels, POD_LABEL: pod}
                out.append(_sample_line(sample.name, labels, float(sample.value)))
    chunks = []
    for name, samples in lines.items():
        chunks.append(f"# TYPE {name} {types[name]}")
        chunks.extend(samples)
    return "\n".join(chunks) + "\n"


def ready_pods(
    core: Any, namespace: str, selector: str = AGENT_SELECTOR, timeout_s: float = METRICS_TIMEOUT_S
) -> list[str]:
    """Names of the pods matching ``selector`` whose Ready condition is True (``core``: a
    ``kubernetes.client.CoreV1Api``) and that are not being deleted."""
    pods = core.list_namespaced_pod(namespace, label_selector=selector, _request_timeout=timeout_s)
    names = []
    for pod in pods.items:
        conditions = (pod.status and pod.status.conditions) or []
        deleting = pod.metadata.deletion_timestamp is not None
        if not deleting and any(c.type == "Ready" and c.status == "True" for c in conditions):
            names.append(pod.metadata.name)
    return sorted(names)


def pod_metrics(
    core: Any,
    pod: str,
    namespace: str,
    port: int = AGENT_PORT,
    timeout_s: float = METRICS_TIMEOUT_S,
) -> str:
    """One pod's ``/metrics``, relayed by the API server's pod proxy (raises when it fails)."""
    text: str = core.connect_get_namespaced_pod_proxy_with_path(
        f"{pod}:{port}", namespace, "metrics", _request_timeout=timeout_s
    )
    return text


@dataclass
class PodScrape:
    """Counts of the last tick: pods read, and pods listed ready that did not answer."""

    read: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


class AgentPods:
    """Reads every ready agent pod's /metrics through the API server of ``context``."""

    def __init__(self, context: str, namespace: str = NAMESPACE, kubeconfig: str | None = None):
        self.context = context
        self.namespace = namespace
        self.kubeconfig = kubeconfig
        self.last = PodScrape()
        self._api: Any = None
        self._lock = threading.Lock()

    def _core(self) -> Any:
        with self._lock:
            if self._api is None:
                # lazy: third-party and slow to import; only a kind run samples pods
                from kubernetes import client, config

                api_client = config.new_client_from_config(
                    config_file=self.kubeconfig, context=self.context
                )
                self._api = client.CoreV1Api(api_client)
            return self._api

    def ready_pods(self) -> list[str]:
        """Names of the agent pods whose Ready condition is True."""
        return ready_pods(self._core(), self.namespace)

    def fetch(self) -> str:
        """The merged exposition of every ready agent pod; raises when none answers."""
        core = self._core()
        scrape = PodScrape()
        by_pod: dict[str, str] = {}
        for pod in self.ready_pods():
            try:
                by_pod[pod] = pod_metrics(core, pod, self.namespace)
                scrape.read.append(pod)
            except Exception as exc:  # one pod going away is data, not a failed tick
                scrape.failed[pod] = f"{type(exc).__name__}: {exc}"[:200]
        self.last = scrape
        if not by_pod:
            why = "; ".join(f"{p}: {e}" for p, e in scrape.failed.items()) or "no ready pod"
            raise RuntimeError(f"no agent pod answered /metrics through the API server ({why})")
        return merge_expositions(by_pod)


def pods_url(context: str, namespace: str = NAMESPACE) -> str:
    """What run.json shows as the source's URL (the pod proxy path, every agent pod)."""
    return f"kube://{context}/api/v1/namespaces/{namespace}/pods/*:{AGENT_PORT}/proxy/metrics"
