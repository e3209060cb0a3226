"""Prometheus metrics of the toolbox: one registry per app, bounded labels.

``toolbox_calls_total{target, result}``: ``target`` is ``llm`` or ``tool:<name>``; ``result`` is
one of the shared model's results (``faults.inject.RESULTS``: ``ok``, ``error``,
``rate_limited``, ``hang``, ``reset``, ``corrupt``, ``rewritten``, ``stream_cut``,
``stream_malformed``) or the toolbox's own ``lie`` / ``hallucinate``. Every series that can
move is created at zero, so a scraper sees it before the first call. Only calls that pass request
validation (known tool and service, well-formed body) are counted.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest

from faults.inject import RESULTS as SHARED_RESULTS
from faults.model import LLM_TARGET
from target_agent.toolbox.targets import TOOL_TARGETS

RESULTS: tuple[str, ...] = (*SHARED_RESULTS, "lie", "hallucinate")
_STREAM_ONLY = ("stream_cut", "stream_malformed")
_COMMON = tuple(result for result in SHARED_RESULTS if result not in _STREAM_ONLY)


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
        for result in (*_COMMON, *_STREAM_ONLY, "hallucinate"):
            self.calls.labels(LLM_TARGET, result)
        for target in TOOL_TARGETS:
            for result in (*_COMMON, "lie"):
                self.calls.labels(target, result)

    def record(self, target: str, result: str) -> None:
        self.calls.labels(target, result).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
