"""Probes of the fault API: ``$STAMPEDE_FAULT_API_URL`` when set, else the stack's toolbox.

No ``from __future__ import annotations`` in activity modules: Chaos Toolkit's discovery reads
the annotation objects, and string annotations would all be reported as "object".
"""

from chaoslib.types import Configuration, Secrets

from experiments.activities._local import Figures
from experiments.activities.toolbox import _api

__all__ = ["active_faults", "no_fault_active"]


def active_faults(
    state_file: str = "",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> Figures:
    """List unexpired faults at $STAMPEDE_FAULT_API_URL, else the toolbox; raises if it is down.

    Target -> fault, each with `expires_at` (epoch s).
    """
    return _api.active_faults(state_file, configuration)


def no_fault_active(
    state_file: str = "",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> bool:
    """Tell if no fault is set at $STAMPEDE_FAULT_API_URL, else the toolbox; raises if down.

    The steady-state check that no experiment left a fault behind.
    """
    return not _api.active_faults(state_file, configuration)
