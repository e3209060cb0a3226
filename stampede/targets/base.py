"""The target seam: what the suite needs from the thing it runs against (docs/architecture.md).

A target is what the suite stands up or talks to: ``local`` (the stack of processes),
``kind`` (a cluster) and, later, ``url`` (someone else's agent, started by nobody). The suite
talks to this interface only; each target lives in its own module of ``stampede.targets``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

Say = Callable[[str], None]


@dataclass
class TargetInfo:
    """What the runner needs to know once a target is up."""

    agent_url: str
    weakness: str | None
    action: str  # what `up` did, for run.json and the progress line: reused/started/restarted
    details: dict[str, Any] = field(default_factory=dict)


class Target(Protocol):
    """A place the suite can run against (local processes, a kind cluster...)."""

    name: str

    def up(self, say: Say) -> TargetInfo:
        """Make the agent reachable with the requested weakness; say what was done."""
        ...

    def chaos_env(self) -> dict[str, str]:
        """Environment the experiments of this target read (e.g. STAMPEDE_STACK_STATE)."""
        ...

    def fetch_metrics(self) -> str:
        """The agent's Prometheus text; raises on failure (the sampler counts it)."""
        ...

    def extra_samples(self) -> list[tuple[str, str, float]]:
        """``(metric, label, value)`` rows the target knows itself (workers_alive, replicas)."""
        ...

    def probe_alerts(self) -> list[dict[str, Any]]:
        """Request bodies the investigation probe may send; empty = skip the check."""
        ...

    def heal(self) -> list[str]:
        """Clear whatever faults an interrupted experiment may have left; say what was done."""
        ...

    def down(self, say: Say) -> None:
        """Tear down what ``up`` started (only called when the suite should)."""
        ...
