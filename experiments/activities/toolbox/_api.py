"""The fault API the activities talk to, and its errors as ActivityFailed.

Where a fault goes, first found:

1. the stack of an explicit ``state_file`` argument: its toolbox;
2. ``$STAMPEDE_FAULT_API_URL`` with ``$STAMPEDE_FAULT_API_TOKEN`` (the suite's targets set them:
   the fault proxy's when the target has one, else the toolbox's), so one experiment works
   against the toolbox, a proxy in front of the reference agent, or anyone's agent's proxy;
3. the stack found as every local activity finds it (``_local.state_path``): its toolbox.

Every URL must be on 127.0.0.1/localhost.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from chaoslib.exceptions import ActivityFailed

from experiments.activities import _local
from faults.client import FaultApiError, FaultClient
from stampede.stack import StackState

TIMEOUT_S = 5.0
URL_ENV = "STAMPEDE_FAULT_API_URL"
TOKEN_ENV = "STAMPEDE_FAULT_API_TOKEN"


def toolbox_client(state: StackState) -> FaultClient:
    """The fault API client of the stack's toolbox (127.0.0.1 only), with its admin token."""
    url = _local.local_url(state.toolbox.url, "toolbox")
    return FaultClient(url, state.admin_token, timeout_s=TIMEOUT_S)


def env_client() -> FaultClient | None:
    """The client of ``$STAMPEDE_FAULT_API_URL`` (127.0.0.1 only) with its token; None if unset."""
    url = os.environ.get(URL_ENV, "").strip()
    if not url:
        return None
    token = os.environ.get(TOKEN_ENV, "")
    if not token:
        raise ActivityFailed(f"${URL_ENV} is {url!r} but ${TOKEN_ENV} is empty or unset")
    return FaultClient(_local.local_url(url, f"${URL_ENV}"), token, timeout_s=TIMEOUT_S)


def client(state_file: str = "", configuration: Any = None) -> FaultClient:
    """The fault API to act on (see the module docstring for the order)."""
    if not state_file:
        from_env = env_client()
        if from_env is not None:
            return from_env
    return toolbox_client(_local.load(state_file, configuration))


@contextmanager
def as_activity_failed() -> Iterator[None]:
    """Turn a FaultApiError into Chaos Toolkit's ActivityFailed (same message, with the URL)."""
    try:
        yield
    except FaultApiError as exc:
        raise ActivityFailed(str(exc)) from exc


def active_faults(state_file: str = "", configuration: Any = None) -> dict[str, dict[str, Any]]:
    """Target -> fault of every unexpired fault."""
    api = client(state_file, configuration)
    with as_activity_failed():
        return api.active()


def set_fault(
    target: str, spec: dict[str, Any], state_file: str = "", configuration: Any = None
) -> dict[str, Any]:
    """Set (replace) the fault on ``target``; the fault as the fault API stored it."""
    api = client(state_file, configuration)
    with as_activity_failed():
        return api.set(target, spec)


def clear_fault(target: str, state_file: str = "", configuration: Any = None) -> list[str]:
    """Clear the fault on ``target``; the targets that had one."""
    api = client(state_file, configuration)
    with as_activity_failed():
        return api.clear(target)


def clear_all_faults(state_file: str = "", configuration: Any = None) -> list[str]:
    """Clear every fault; the targets that had one."""
    api = client(state_file, configuration)
    with as_activity_failed():
        return api.clear_all()
