"""Actions on the local agent's worker processes: kill some, restart all.

Only workers of the agent this stack started are ever signalled: the master must match the state
file's ``pid`` and ``create_time``, and each worker must be its child (see ``_local``).

No ``from __future__ import annotations`` in activity modules: Chaos Toolkit's discovery reads
the annotation objects, and string annotations would all be reported as "object".
"""

import random
import signal as signals
import time

import psutil
import redis
from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from experiments.activities import _local
from experiments.activities._local import Figures
from experiments.activities.process import _workers
from experiments.activities.redis import _client
from stampede import stack

__all__ = ["kill_agent_worker", "kill_job_holder", "restart_agent_workers"]

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
    name = _kill_signal(signal)
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


def kill_job_holder(
    signal: str = "SIGKILL",
    stream: str = "stampede:jobs",
    group: str = "workers",
    wait_s: float = 10.0,
    state_file: str = "",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> Figures:
    """Send `signal` to the live worker holding the most durable jobs; raises if none holds one.

    "Holding" is the reference agent's own record: the Redis Streams consumer group `group` on
    `stream` (target_agent/agent/jobs/queue.py) lists, per consumer `<replica>-<pid>`, the
    entries delivered to it and not yet acknowledged - its running jobs. A random worker may
    hold none (measured: three random kills interrupted 1 run of ~450 in one detection run),
    which tests nothing; this one always interrupts runs. Waits up to `wait_s` for a live
    worker of this stack to hold one (the master may still be replacing the last one killed),
    then raises ActivityFailed: the journal then says the experiment could not interrupt a run.
    """
    name = _kill_signal(signal)
    state = _local.load(state_file, configuration)
    conn = _client.client(state, timeout_s=2.0)
    deadline = time.monotonic() + wait_s
    while True:
        workers = {proc.pid: proc for proc in _local.agent_workers(state)}
        held = {pid: n for pid, n in _held_jobs(conn, stream, group).items() if pid in workers}
        if held and len(workers) == state.agent.workers:
            break
        if time.monotonic() >= deadline:
            raise ActivityFailed(
                f"no live agent worker of {state.path} held a job of {stream} (group {group}) "
                f"within {wait_s:g} s: nothing in flight to interrupt"
            )
        time.sleep(0.1)
    pid = max(held, key=lambda p: held[p])
    victim = workers[pid]
    _workers.retire([victim], _local.agent_log(state))
    victim.send_signal(getattr(signals, name))  # psutil re-checks pid + create_time
    return {"signal": name, "killed": [pid], "jobs_held": held[pid], "held_by_worker": held}


def _held_jobs(conn: redis.Redis, stream: str, group: str) -> dict[int, int]:
    """pid -> entries delivered and not acknowledged, per consumer ``<replica>-<pid>``."""
    try:
        consumers = conn.xinfo_consumers(stream, group)
    except redis.ResponseError:  # no stream or group yet: nobody holds anything
        return {}
    except redis.RedisError as exc:
        raise ActivityFailed(f"redis {stream}: XINFO CONSUMERS: {exc}") from exc
    held: dict[int, int] = {}
    for consumer in consumers:
        label = (
            consumer["name"].decode() if isinstance(consumer["name"], bytes) else consumer["name"]
        )
        pid = label.rsplit("-", 1)[-1]
        if pid.isdigit() and int(consumer["pending"]) > 0:
            held[int(pid)] = held.get(int(pid), 0) + int(consumer["pending"])
    return held


def _kill_signal(signal: str) -> str:
    """``signal`` upper-cased when it is one of :data:`KILL_SIGNALS`; else ActivityFailed."""
    name = signal.upper()
    if name not in KILL_SIGNALS:
        raise ActivityFailed(f"signal {signal!r} is not one of {', '.join(KILL_SIGNALS)}")
    return name


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
