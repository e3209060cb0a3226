"""Probes of the local agent's worker processes: how many run, is it ready, are they replaced.

No ``from __future__ import annotations`` in activity modules: Chaos Toolkit's discovery reads
the annotation objects, and string annotations would all be reported as "object".
"""

import time

import httpx
from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from experiments.activities import _local
from experiments.activities.process import _workers

__all__ = ["agent_is_ready", "agent_workers_alive", "all_workers_replaced_within"]

POLL_S = 0.1


def agent_workers_alive(
    state_file: str = "",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> int:
    """Count the live worker processes of this stack's agent; raises if its master is gone."""
    state = _local.load(state_file, configuration)
    return len(_local.agent_workers(state))


def agent_is_ready(
    timeout_s: float = 2.0,
    state_file: str = "",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> bool:
    """Tell whether /readyz answers 200 within `timeout_s`; raises only without a stack.

    Any other answer, a refused connection or a timeout is False (a steady-state probe must not
    raise for the condition it checks).
    """
    state = _local.load(state_file, configuration)
    return _ready(_local.local_url(state.agent.url, "agent"), timeout_s)


def _ready(agent_url: str, timeout_s: float) -> bool:
    try:
        with _local.http_client(timeout_s) as client:
            return client.get(f"{agent_url}/readyz").status_code == 200
    except httpx.HTTPError:
        return False


def all_workers_replaced_within(
    timeout_s: float = 10.0,
    expected: int = 0,
    raise_on_timeout: bool = True,
    state_file: str = "",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> bool:
    """Wait until `expected` agent workers run, none retired, and /readyz is 200; raises on timeout.

    `expected` 0 means the worker count in the state file. Retired workers are the ones this
    Chaos Toolkit run killed or restarted: each must be gone and its replacement must have
    logged that it started (it serves), not merely exist.
    With `raise_on_timeout` false, returns False on timeout instead of raising.
    """
    state = _local.load(state_file, configuration)
    want = expected or state.agent.workers
    agent_url = _local.local_url(state.agent.url, "agent")
    log = _local.agent_log(state)
    deadline = time.monotonic() + timeout_s
    while True:
        live = len(_local.agent_workers(state))
        lingering = _workers.retired_alive()
        starting = _workers.startups_missing(log)
        whole = live >= want and not lingering and not starting
        if whole and _ready(agent_url, min(2.0, timeout_s)):
            return True
        if time.monotonic() >= deadline:
            break
        time.sleep(POLL_S)
    if not raise_on_timeout:
        return False
    detail = f"{live} of {want} workers alive"
    if lingering:
        detail += f", retired worker pid(s) {lingering} still running"
    elif starting:
        detail += f", {starting} replacement(s) not started (no startup line in {log})"
    elif whole:
        detail += ", but /readyz does not answer 200"
    raise ActivityFailed(
        f"agent workers of {state.path} not all replaced within {timeout_s:.1f} s: {detail}"
    )
