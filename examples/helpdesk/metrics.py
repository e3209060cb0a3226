"""The helpdesk's Prometheus series, named its own way (Stampede reads them via a metric map).

One registry per app (not the global one), so tests can build several apps in one process.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class HelpdeskMetrics:
    """Every series the helpdesk exposes on ``/metrics``."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.inflight = Gauge("helpdesk_inflight", "Questions being answered now", registry=r)
        self.queue_depth = Gauge(
            "helpdesk_queue_depth", "Questions waiting for an answering slot", registry=r
        )
        self.requests = Counter("helpdesk_requests", "Questions by result", ["result"], registry=r)
        self.tool_calls = Counter(
            "helpdesk_tool_calls", "Tool calls by tool and result", ["tool", "result"], registry=r
        )
        self.tool_retries = Counter(
            "helpdesk_tool_retries", "Tool call retries", ["tool"], registry=r
        )
        self.breaker_open = Gauge(
            "helpdesk_breaker_open", "1 while the dependency's breaker is open", ["dep"], registry=r
        )
        self.latency = Histogram("helpdesk_answer_seconds", "Time to answer a question", registry=r)
        for dep in ("lookup_service", "get_oncall"):
            self.breaker_open.labels(dep).set(0)
            self.tool_retries.labels(dep)
