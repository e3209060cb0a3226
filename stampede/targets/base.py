"""The target seam: what the suite needs from the thing it runs against (docs/architecture.md).

A target is what the suite stands up or talks to: ``local`` (the stack of processes),
``kind`` (a cluster) and ``url`` (someone else's agent, started by nobody). The suite
talks to this interface only; each target lives in its own module of ``stampede.targets``.

What a target says about itself:

* ``capabilities``: what it can count (replicas, workers, lost records) and whether ``up``
  starts anything, so the suite and the report know an absent figure from a zero;
* ``metrics_sources()``: the Prometheus endpoints the sampler scrapes (the agent's ``/metrics``
  first, then the fault proxy's when there is one; none for a url target given no metrics URL);
* ``fault_endpoints()``: where faults are set through the fault API (the fault proxy first when
  there is one, then the toolbox on local and kind), each with its token;
  ``FaultEndpoint.client()`` talks to one. ``chaos_env()`` hands the first to the experiments
  as ``STAMPEDE_FAULT_API_URL`` / ``STAMPEDE_FAULT_API_TOKEN``.

``TargetOptions`` carries what the command line says about a target beyond its name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from faults.client import FaultClient

Say = Callable[[str], None]
#: One row a target adds to samples.csv: ``(metric, label, value)``.
Sample = tuple[str, str, float]

METRICS_TIMEOUT_S = 2.0
FAULT_API_TIMEOUT_S = 3.0


@dataclass
class TargetInfo:
    """What the runner needs to know once a target is up."""

    agent_url: str
    weakness: str | None
    action: str  # what `up` did, for run.json and the progress line: reused/started/restarted
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Capabilities:
    """What a target can count and do; a figure it cannot count is reported absent, not 0."""

    counts_replicas: bool  # extra_samples() has `replicas` rows (Deployments, HPA)
    counts_workers: bool  # extra_samples() has a `workers_alive` row
    counts_lost_records: bool  # probe_alerts() is non-empty and stored records can be read back
    starts_agent: bool  # up() may start or deploy the agent (False: it only talks to a URL)


@dataclass(frozen=True)
class MetricsSource:
    """One Prometheus text endpoint the sampler scrapes."""

    name: str  # "agent", "proxy"
    url: str  # the full URL of the metrics page

    def fetch(self, timeout_s: float = METRICS_TIMEOUT_S) -> str:
        """The Prometheus text; raises httpx.HTTPError on no answer or a non-2xx status."""
        with httpx.Client(trust_env=False, timeout=timeout_s) as client:
            response = client.get(self.url)
        response.raise_for_status()
        return response.text


@dataclass(frozen=True)
class FaultEndpoint:
    """Where faults are set through the fault API (``GET/PUT/DELETE /faults``)."""

    name: str  # "toolbox", "proxy", "fault-api" (a url target's)
    url: str  # base URL; the API is under <url>/faults
    token: str = field(default="", repr=False)  # the bearer token; never shown

    def client(self, timeout_s: float = FAULT_API_TIMEOUT_S) -> FaultClient:
        """A fault API client for this endpoint."""
        return FaultClient(self.url, self.token, timeout_s=timeout_s)


@dataclass(frozen=True)
class TargetOptions:
    """What the command line says about the target beyond its name (``make_target``).

    ``agent_url``, ``metrics_url``, ``fault_url`` and ``fault_token`` are the url target's
    (``--agent-url`` etc.); the local and kind targets refuse them. ``allow_remote`` lets the
    url target talk to hosts other than this machine (off: 127.0.0.1/localhost only).
    ``proxy`` is the local target's (``--proxy/--no-proxy``: the fault proxy between agent and
    toolbox; None = as the running stack has it); the others refuse it.
    """

    agent_url: str | None = None
    metrics_url: str | None = None
    fault_url: str | None = None
    fault_token: str | None = field(default=None, repr=False)
    allow_remote: bool = False
    proxy: bool | None = None

    def url_options_given(self) -> list[str]:
        """The url-target options that are set, as their command-line names."""
        given = {
            "--agent-url": self.agent_url,
            "--metrics-url": self.metrics_url,
            "--fault-url": self.fault_url,
            "--fault-token": self.fault_token,
        }
        return [option for option, value in given.items() if value]


@dataclass(frozen=True)
class TargetStatus:
    """Whether a target is ready to run against, without changing anything."""

    ready: bool
    problem: str | None  # None when ready, else what is not (one line)
    details: dict[str, Any] = field(default_factory=dict)


class Target(Protocol):
    """A place the suite can run against (local processes, a kind cluster, a URL)."""

    name: str
    capabilities: Capabilities
    started_by_us: bool  # the suite stops the target afterwards only if up() started it

    def up(self, say: Say) -> TargetInfo:
        """Make the agent reachable with the requested weakness; say what was done."""
        ...

    def down(self, say: Say) -> None:
        """Tear down what ``up`` started (only called when the suite should)."""
        ...

    def status(self) -> TargetStatus:
        """Whether the target is ready now (reads only; works before ``up``)."""
        ...

    def chaos_env(self) -> dict[str, str]:
        """Environment the experiments of this target read (e.g. STAMPEDE_STACK_STATE)."""
        ...

    def metrics_sources(self) -> list[MetricsSource]:
        """The Prometheus endpoints to sample, the agent's first (valid after ``up``)."""
        ...

    def fetch_metrics(self) -> str:
        """The agent's Prometheus text; raises on failure (the sampler counts it)."""
        ...

    def extra_samples(self) -> list[Sample]:
        """``(metric, label, value)`` rows the target knows itself (workers_alive, replicas)."""
        ...

    def fault_endpoints(self) -> list[FaultEndpoint]:
        """Where faults can be set and cleared (valid after ``up``); empty = none."""
        ...

    def probe_alerts(self) -> list[dict[str, Any]]:
        """Request bodies the investigation probe may send; empty = skip the check."""
        ...

    def heal(self) -> list[str]:
        """Clear whatever faults an interrupted experiment may have left; say what was done."""
        ...
