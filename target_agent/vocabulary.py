"""The words of the agent's simulated world, shared by the agent and the toolbox.

The agent plans with these (which tools exist, which alert types it accepts, which tools to call
first for each); the toolbox serves answers for them. The answer key (which incident has which
root cause, what each tool returns) is the toolbox's alone (``target_agent.toolbox.catalogue``):
the agent under test never imports it.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

__all__ = ["ALERT_TYPES", "PLAYBOOK", "TOOLS"]

TOOLS: Final[tuple[str, ...]] = ("check_pods", "get_metrics", "get_logs", "get_deploys")

ALERT_TYPES: Final[tuple[str, ...]] = (
    "high_latency",
    "error_rate",
    "crash_loop",
    "memory_pressure",
)

#: Which tools an investigator should call first for each alert type (the planner's playbook).
PLAYBOOK: Final[MappingProxyType[str, tuple[str, ...]]] = MappingProxyType(
    {
        "high_latency": ("get_metrics", "get_logs", "get_deploys"),
        "error_rate": ("get_logs", "get_metrics", "get_deploys"),
        "crash_loop": ("check_pods", "get_logs", "get_deploys"),
        "memory_pressure": ("check_pods", "get_metrics", "get_logs"),
    }
)
