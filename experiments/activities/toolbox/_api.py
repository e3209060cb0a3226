"""The toolbox fault API as the activities use it: the stack's client, errors as ActivityFailed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from chaoslib.exceptions import ActivityFailed

from experiments.activities import _local
from faults.client import FaultApiError, FaultClient
from stampede.stack import StackState

TIMEOUT_S = 5.0


def client(state: StackState) -> FaultClient:
    """The fault API client of the stack's toolbox (127.0.0.1 only), with its admin token."""
    url = _local.local_url(state.toolbox.url, "toolbox")
    return FaultClient(url, state.admin_token, timeout_s=TIMEOUT_S)


@contextmanager
def as_activity_failed() -> Iterator[None]:
    """Turn a FaultApiError into Chaos Toolkit's ActivityFailed (same message)."""
    try:
        yield
    except FaultApiError as exc:
        raise ActivityFailed(str(exc)) from exc


def active_faults(state: StackState) -> dict[str, dict[str, Any]]:
    """Target -> fault of every unexpired fault."""
    with as_activity_failed():
        return client(state).active()


def set_fault(state: StackState, target: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Set (replace) the fault on ``target``; the fault as the toolbox stored it."""
    with as_activity_failed():
        return client(state).set(target, spec)


def clear_fault(state: StackState, target: str) -> list[str]:
    """Clear the fault on ``target``; the targets that had one."""
    with as_activity_failed():
        return client(state).clear(target)


def clear_all_faults(state: StackState) -> list[str]:
    """Clear every fault; the targets that had one."""
    with as_activity_failed():
        return client(state).clear_all()
