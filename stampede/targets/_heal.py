"""Clearing faults left behind, through the fault API, on every endpoint of a target."""

from __future__ import annotations

from collections.abc import Iterable

from faults.client import FaultApiError
from stampede.targets.base import FaultEndpoint


def clear_left_faults(endpoints: Iterable[FaultEndpoint]) -> list[str]:
    """Clear every fault on each endpoint; one line per endpoint that had some or did not answer.

    Lines start with ``cleared`` when something was left behind (the suite counts those as
    errors of the experiment's rollbacks) and ``could not`` when the API did not answer.
    """
    done: list[str] = []
    for endpoint in endpoints:
        try:
            cleared = endpoint.client().clear_all()
        except FaultApiError as exc:
            done.append(f"could not check {endpoint.name} faults: {exc}")
            continue
        if cleared:
            done.append(f"cleared {endpoint.name} faults left behind: {', '.join(cleared)}")
    return done
