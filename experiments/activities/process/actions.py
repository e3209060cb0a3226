"""Actions on the local agent's worker processes: kill some, restart all.

Only workers of the agent this stack started are ever signalled: the master must match the state
file's ``pid`` and ``create_time``, and each worker must be its child (see ``_local``).

No ``from __future__ import annotations`` in activity modules: Chaos Toolkit's discovery reads
the annotation objects, and string annotations would all be reported as "object".
"""

import random
import signal as signals

import psutil
from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from experiments.activities import _local
from experiments.activities._local import Figures
from experiments.activities.process import _workers
from stampede import stack

__all__ = ["kill_agent_worker", "restart_agent_workers"]

#: Signals a worker may be sent; each ends the worker, and uvicorn's master replaces it.
KILL_SIGNALS = ("SIGKILL", "SIGTERM", "SIGINT", "SIGQUIT", "SIGABRT")


def kill_agent_worker(
    signal: str = "SIGKILL",
    count: int = 1,
    state_file: str = "",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> Figures:
    """Send `signal` to `count` random agent workers of this stack; raises if fewer are alive.

    Returns the PIDs signalled. The uvicorn master replaces them; wait for that with
    `experiments.activities.process.probes.all_workers_replaced_within`.
    """
    name = signal.upper()
    if name not in KILL_SIGNALS:
        raise ActivityFailed(f"signal {signal!r} is not one of {', '.join(KILL_SIGNALS)}")
    state = _local.load(state_file, configuration)
    workers = _local.agent_workers(state)
    if count < 1 or count > len(workers):
        raise ActivityFailed(
            f"cannot kill {count} agent worker(s) of {state.path}: "
            f"expected 1..{len(workers)}, {len(workers)} alive"
        )
    victims = random.sample(workers, count)
    _workers.retire(victims, _local.agent_log(state))
    killed = []
    for proc in victims:
        try:
            proc.send_signal(getattr(signals, name))  # psutil re-checks pid + create_time
            killed.append(proc.pid)
        except psutil.NoSuchProcess:
            continue  # it died on its own meanwhile: already gone
    return {
        "signal": name,
        "killed": killed,
        "workers_alive_before": len(workers),
        "workers_expected": state.agent.workers,
    }


def restart_agent_workers(
    state_file: str = "",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> Figures:
    """Restart every agent worker gracefully (SIGHUP to the master); raises if it is not ours.

    uvicorn replaces the workers one by one and drains each; wait for the end with
    `experiments.activities.process.probes.all_workers_replaced_within`.
    """
    state = _local.load(state_file, configuration)
    master = _local.agent_master(state)
    workers = _local.agent_workers(state)
    _workers.retire(workers, _local.agent_log(state))
    stack.restart_agent_workers(state)
    return {
        "signal": "SIGHUP",
        "master": master.pid,
        "workers_before": sorted(proc.pid for proc in workers),
    }
