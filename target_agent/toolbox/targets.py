"""The toolbox's fault targets (``llm``, ``tools``, ``tool:<name>``) and its fault store.

The fault model itself (spec, store, injector, API) is the shared ``faults`` package; this
module only says which targets the toolbox serves. A call hits a *call target* (``llm`` or
``tool:<name>``); for a tool the ``tool:<name>`` fault overrides the ``tools`` fault.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from faults.model import LLM_TARGET, TOOLS_TARGET, tool_target
from faults.store import FaultStore
from target_agent.toolbox.catalogue import TOOLS

TOOL_TARGETS: tuple[str, ...] = tuple(tool_target(tool) for tool in TOOLS)
#: Targets a fault can be set on.
FAULT_TARGETS: tuple[str, ...] = (LLM_TARGET, TOOLS_TARGET, *TOOL_TARGETS)
#: Targets a call can hit (the ``target`` label of ``toolbox_calls_total``).
CALL_TARGETS: tuple[str, ...] = (LLM_TARGET, *TOOL_TARGETS)


def fault_store(
    max_ttl_s: float,
    clock: Callable[[], float] = time.monotonic,
    wall: Callable[[], float] = time.time,
) -> FaultStore:
    """The toolbox's store: its targets, its TTL ceiling named after its setting."""
    return FaultStore(
        FAULT_TARGETS, max_ttl_s, clock=clock, wall=wall, ttl_setting="TOOLBOX_MAX_FAULT_TTL_S"
    )
