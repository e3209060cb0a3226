"""The ``url`` target: someone else's agent at a URL; Stampede starts, stops and counts nothing.

``up`` only checks the agent answers: ``GET <agent><health_path>`` (default ``/readyz``) must
answer 200; an agent without that route (404/405), or a target built with no health path, is
reachable when its base URL gives any HTTP answer. The wait is bounded; after it, a
HarnessError names the URL and the last answer seen.

What it knows is what it is told: the agent's ``/metrics`` (absent when not given, so the
timeline reports those series as absent, not 0), fault API endpoints (a fault proxy in front
of the agent's LLM and tools), and probe requests for the lost-record check (only for agents
with the reference look-up, ``GET /investigations/{id}``). Every URL must be on this machine
unless ``allow_remote`` says otherwise.

**A fault API that is a Stampede fault proxy** is sampled too. ``up`` asks each fault API once,
in order, for ``GET <fault url>/metrics`` (no token; the proxy serves it openly): it is a
Stampede proxy when that answers 200 with a series or ``# HELP``/``# TYPE`` line named
``stampede_proxy_*`` (the proxy's registry always declares them, even before its first call).
The first one found becomes ``MetricsSource("proxy", <fault url>/metrics)`` after the agent's,
so the sampler writes the proxy's series (calls, faults injected, active faults). A toolbox's
fault API serves ``/metrics`` too, but with no ``stampede_proxy_`` series: not a proxy. The
``/healthz`` shape was not chosen: ``{"status": "ok"}`` is too common to tell services apart,
and the metric prefix is exactly what the sampler needs. ``up`` says what it found for each;
a fault API that does not answer is reported (said and in ``details``) and not sampled. Before
``up``, ``metrics_sources()`` lists the agent's only.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from stampede.errors import HarnessError, InputError
from stampede.targets._heal import clear_left_faults
from stampede.targets._urls import checked_url
from stampede.targets.base import (
    Capabilities,
    FaultEndpoint,
    MetricsSource,
    Sample,
    Say,
    TargetInfo,
    TargetStatus,
)

DEFAULT_HEALTH_PATH = "/readyz"
READY_TIMEOUT_S = 15.0
PROBE_TIMEOUT_S = 2.0
POLL_S = 0.25
#: Statuses of the health path that mean "no such route": fall back to the base URL.
NO_ROUTE = frozenset({404, 405})
#: The prefix of the fault proxy's series (stampede.proxy.metrics): what makes a fault API a proxy.
PROXY_SERIES_PREFIX = "stampede_proxy_"
_PROXY_LINE = re.compile(rf"^(?:# (?:HELP|TYPE) )?{PROXY_SERIES_PREFIX}\w", re.MULTILINE)


def _status(client: httpx.Client, url: str) -> int | str:
    """The HTTP status of ``GET url``, or what went wrong (no answer) as text."""
    try:
        return client.get(url).status_code
    except httpx.HTTPError as exc:
        return f"no answer ({type(exc).__name__}: {exc})"


def agent_answer(agent_url: str, health_path: str | None) -> tuple[bool, str]:
    """``(ready, what was seen)`` from one look at the agent (see the module docstring)."""
    with httpx.Client(trust_env=False, timeout=PROBE_TIMEOUT_S, follow_redirects=False) as client:
        if health_path:
            health = f"{agent_url}{health_path}"
            status = _status(client, health)
            if status == 200:
                return True, f"GET {health} answered 200"
            if status not in NO_ROUTE:
                return False, f"GET {health}: " + (
                    f"HTTP {status}" if isinstance(status, int) else status
                )
        base = _status(client, f"{agent_url}/")
    if isinstance(base, int):
        return True, f"GET {agent_url}/ answered {base}" + (
            f" (no {health_path} route)" if health_path else ""
        )
    return False, f"GET {agent_url}/: {base}"


def proxy_metrics_answer(fault_url: str) -> tuple[str | None, str]:
    """``(metrics URL if fault_url is a Stampede fault proxy else None, what was seen)``."""
    url = f"{fault_url}/metrics"
    try:
        with httpx.Client(trust_env=False, timeout=PROBE_TIMEOUT_S) as client:
            response = client.get(url)
    except httpx.HTTPError as exc:
        return None, f"GET {url}: no answer ({type(exc).__name__}: {exc})"
    if response.status_code != 200:
        return None, f"GET {url}: HTTP {response.status_code}"
    if _PROXY_LINE.search(response.text) is None:
        return None, f"GET {url} answered 200 with no {PROXY_SERIES_PREFIX}* series"
    return url, f"GET {url} answered {PROXY_SERIES_PREFIX}* series"


class UrlTarget:
    """`stampede suite --target url --agent-url URL`: talk to an agent started by someone else."""

    name = "url"
    started_by_us = False  # always: up() starts nothing, so the suite never stops anything

    def __init__(
        self,
        agent_url: str,
        metrics_url: str | None = None,
        fault_endpoints: Iterable[FaultEndpoint] = (),
        probe_requests: Iterable[Mapping[str, Any]] = (),
        health_path: str | None = DEFAULT_HEALTH_PATH,
        ready_timeout_s: float = READY_TIMEOUT_S,
        allow_remote: bool = False,
    ) -> None:
        self.agent_url = checked_url(agent_url, "--agent-url", allow_remote)
        self.metrics_url = (
            checked_url(metrics_url, "--metrics-url", allow_remote) if metrics_url else None
        )
        self._faults = [
            FaultEndpoint(
                e.name, checked_url(e.url, f"fault API {e.name!r}", allow_remote), e.token
            )
            for e in fault_endpoints
        ]
        if health_path and not health_path.startswith("/"):
            raise InputError(f"health path {health_path!r}: expected a path starting with '/'")
        self.health_path = health_path or None
        self.ready_timeout_s = ready_timeout_s
        self._probe_requests = [dict(request) for request in probe_requests]
        self._proxy_metrics_url: str | None = None  # found by up() (see the module docstring)
        self.capabilities = Capabilities(
            counts_replicas=False,
            counts_workers=False,
            counts_lost_records=bool(self._probe_requests),
            starts_agent=False,
        )

    # -- up / down / status
    def status(self) -> TargetStatus:
        """Whether the agent answers now (one look, no wait)."""
        ready, seen = agent_answer(self.agent_url, self.health_path)
        return TargetStatus(
            ready, None if ready else seen, {"agent_url": self.agent_url, "seen": seen}
        )

    def up(self, say: Say) -> TargetInfo:
        """Wait (bounded) until the agent answers; HarnessError naming the URL if it never does."""
        deadline = time.monotonic() + self.ready_timeout_s
        ready, seen = agent_answer(self.agent_url, self.health_path)
        if not ready:
            say(
                f"url target: waiting up to {self.ready_timeout_s:g} s for the agent at "
                f"{self.agent_url} ({seen})"
            )
        while not ready and time.monotonic() < deadline:
            time.sleep(POLL_S)
            ready, seen = agent_answer(self.agent_url, self.health_path)
        if not ready:
            raise HarnessError(
                f"--target url: the agent at {self.agent_url} is not ready after "
                f"{self.ready_timeout_s:g} s ({seen}); start it, or check --agent-url"
            )
        return TargetInfo(
            agent_url=self.agent_url,
            weakness=None,
            action="reused",
            details={
                "seen": seen,
                "metrics_url": self.metrics_url,
                "fault_apis": {e.name: e.url for e in self._faults},
                "fault_proxy_metrics_url": self._find_proxy(say),
            },
        )

    def _find_proxy(self, say: Say) -> str | None:
        """Ask each fault API whether it is a Stampede fault proxy; keep the first one's metrics."""
        self._proxy_metrics_url = None
        for endpoint in self._faults:
            url, seen = proxy_metrics_answer(endpoint.url)
            if url is not None:
                say(f"url target: fault API {endpoint.name!r} is a Stampede fault proxy ({seen})")
                self._proxy_metrics_url = url
                break
            say(f"url target: fault API {endpoint.name!r} is not a Stampede fault proxy ({seen})")
        return self._proxy_metrics_url

    def down(self, say: Say) -> None:
        """Nothing to stop: say so (Stampede never started this agent)."""
        say(f"url target: nothing to stop (Stampede did not start the agent at {self.agent_url})")

    # -- during the run
    def chaos_env(self) -> dict[str, str]:
        """``STAMPEDE_AGENT_URL``, and the first fault API's URL and token when there is one."""
        env = {"STAMPEDE_AGENT_URL": self.agent_url}
        if self._faults:
            env["STAMPEDE_FAULT_API_URL"] = self._faults[0].url
            env["STAMPEDE_FAULT_API_TOKEN"] = self._faults[0].token
        return env

    def metrics_sources(self) -> list[MetricsSource]:
        """The agent's /metrics when given, then the fault proxy's when ``up`` found one."""
        sources = [MetricsSource("agent", self.metrics_url)] if self.metrics_url else []
        if self._proxy_metrics_url is not None:
            sources.append(MetricsSource("proxy", self._proxy_metrics_url))
        return sources

    def fetch_metrics(self) -> str:
        """The agent's Prometheus text; raises on failure and when no metrics URL was given."""
        if self.metrics_url is None:
            raise HarnessError("url target: no --metrics-url given, the agent's series are absent")
        return self.metrics_sources()[0].fetch()

    def extra_samples(self) -> list[Sample]:
        """None: this target counts no replicas or workers."""
        return []

    def fault_endpoints(self) -> list[FaultEndpoint]:
        """The fault APIs given (e.g. a fault proxy), the one experiments use first."""
        return list(self._faults)

    def probe_alerts(self) -> list[dict[str, Any]]:
        """The probe requests given (empty: the lost-record check is skipped)."""
        return [dict(request) for request in self._probe_requests]

    def heal(self) -> list[str]:
        """Clear faults left on every fault API given; say what was done."""
        return clear_left_faults(self._faults)
