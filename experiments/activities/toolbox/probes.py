"""Probes of the fault APIs: the stack's toolbox and its fault proxy, or $STAMPEDE_FAULT_API_URL.

With a local stack behind them (``_api`` has the rules) both the toolbox and the proxy are
read, so a fault left on either is seen; else ``$STAMPEDE_FAULT_API_URL`` alone.

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
    """List unexpired faults on every fault API (proxy and toolbox); raises if one is down.

    Target -> fault, each with `expires_at` (epoch s) and `fault_api` (the URL it is set on); a
    target with a fault on both APIs appears a second time as `<target>@<URL>`.
    """
    return _api.active_faults(state_file, configuration)


def no_fault_active(
    state_file: str = "",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> bool:
    """Tell if no fault is set on any fault API (proxy and toolbox); raises if one is down.

    The steady-state check that no experiment left a fault behind.
    """
    return not _api.active_faults(state_file, configuration)
