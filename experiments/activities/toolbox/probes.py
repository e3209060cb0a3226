"""Probes of the toolbox's fault API.

No ``from __future__ import annotations`` in activity modules: Chaos Toolkit's discovery reads
the annotation objects, and string annotations would all be reported as "object".
"""

from chaoslib.types import Configuration, Secrets

from experiments.activities import _local
from experiments.activities._local import Figures
from experiments.activities.toolbox import _api

__all__ = ["active_faults", "no_fault_active"]


def active_faults(
    state_file: str = "",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> Figures:
    """List the unexpired faults (target -> fault, expires_at); raises if the toolbox is down."""
    state = _local.load(state_file, configuration)
    return _api.active_faults(state)


def no_fault_active(
    state_file: str = "",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> bool:
    """Tell whether no fault is set on the toolbox; raises if the toolbox is down."""
    state = _local.load(state_file, configuration)
    return not _api.active_faults(state)
