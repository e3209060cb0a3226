"""Prometheus metrics of the toolbox: one registry per app, bounded labels.

``toolbox_calls_total{target, result}``: ``target`` is ``llm`` or ``tool:<name>``; ``result`` is
``ok``, ``error``, ``rate_limited``, ``hang``, ``lie`` or ``hallucinate``. Every series that can
move is created at zero, so a scraper sees it before the first call. Only calls that pass request
validation (known tool and service, well-formed body) are counted.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest

from target_agent.toolbox.faults import LLM_TARGET, TOOL_TARGETS

RESULTS: tuple[str, ...] = ("ok", "error", "rate_limited", "hang", "lie", "hallucinate")
_COMMON = ("ok", "error", "rate_limited", "hang")


class ToolboxMetrics:
    """The toolbox's counters in their own ``CollectorRegistry`` (no global state)."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.calls = Counter(
            "toolbox_calls_total",
            "Calls to the simulated LLM and tools, by target and result.",
            ["target", "result"],
            registry=self.registry,
        )
        for result in (*_COMMON, "hallucinate"):
            self.calls.labels(LLM_TARGET, result)
        for target in TOOL_TARGETS:
            for result in (*_COMMON, "lie"):
                self.calls.labels(target, result)

    def record(self, target: str, result: str) -> None:
        self.calls.labels(target, result).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
