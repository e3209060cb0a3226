"""What chaos activities do to a running stack: Redis outage and return, worker signals."""

from __future__ import annotations

import logging
import signal
import time

from stampede import procs
from stampede.errors import HarnessError
from stampede.stack import components, health
from stampede.stack.lock import locked
from stampede.stack.state import StackState, current, read_state, write

logger = logging.getLogger(__name__)


def agent_worker_pids(state: StackState) -> list[int]:
    """PIDs of the agent's live uvicorn workers (the master's spawn children), sorted.

    Empty when the master is gone (or its PID was recycled). With ``--workers 1`` uvicorn serves
    in the master itself (no supervisor): the list is then the master's pid, and nothing
    restarts it if it is killed.
    """
    return health.worker_pids(state.agent)


def stop_redis(state: StackState, timeout_s: float = 5.0) -> bool:
    """Stop the stack's Redis (SIGTERM, SIGKILL after ``timeout_s``). True if it was running.

    stack.json keeps the old entry (status shows Redis down) until ``start_redis``.
    """
    return procs.stop(current(state).redis.proc, timeout_s=timeout_s)


def start_redis(state: StackState, timeout_s: float = 15.0) -> StackState:
    """Start the stack's Redis again on the same port with the same flags; return the new state.

    A no-op when it runs. stack.json gets the new pid/create_time. Raises HarnessError with the
    log tail when it does not answer PING within ``timeout_s`` (or the port stays taken).
    """
    with locked(state.path.parent):
        now = current(state)
        old = now.redis
        if old.proc.alive():
            return now
        deadline = time.monotonic() + timeout_s
        procs.wait_port_free(old.port, timeout_s, "redis")
        left = max(deadline - time.monotonic(), 1.0)
        redis = components.start_redis(now, old.port, left, old.executable, old.password or None)
        write(now.model_copy(update={"redis": redis}), now.path)
        logger.info("redis restarted: pid %d on %s", redis.pid, redis.url)
        return read_state(now.path)


def _signal_master(state: StackState, sig: signal.Signals) -> None:
    agent = current(state).agent
    master = agent.proc.process()
    if master is None:
        raise HarnessError(f"agent master (pid {agent.pid}) is not running: cannot send {sig.name}")
    if health.single_process(master):
        raise HarnessError(
            f"the agent (pid {agent.pid}) runs as a single process (--workers 1): "
            f"no supervisor to handle {sig.name}; start the stack with --workers 2 or more"
        )
    if not agent.proc.send_signal(sig):
        raise HarnessError(f"agent master (pid {agent.pid}) exited: cannot send {sig.name}")


def restart_agent_workers(state: StackState) -> None:
    """SIGHUP the agent master: uvicorn replaces workers one by one (new ready, then old stops).

    Returns at once; the replacement takes a few seconds. HarnessError if the master is gone
    or the agent runs single-process (``--workers 1``, where SIGHUP would just kill it).
    """
    _signal_master(state, signal.SIGHUP)


def _resize(state: StackState, sig: signal.Signals, delta: int) -> StackState:
    with locked(state.path.parent):
        now = current(state)
        workers = now.agent.workers + delta
        if workers < 1:
            raise HarnessError("the agent runs 1 worker: cannot remove the last one")
        _signal_master(now, sig)
        agent = now.agent.model_copy(update={"workers": workers})
        write(now.model_copy(update={"agent": agent}), now.path)
        return read_state(now.path)


def add_worker(state: StackState) -> StackState:
    """SIGTTIN the agent master: one more worker. stack.json records the new worker count.

    HarnessError when the master is gone or single-process (``--workers 1``).
    """
    return _resize(state, signal.SIGTTIN, +1)


def remove_worker(state: StackState) -> StackState:
    """SIGTTOU the agent master: one worker fewer (never below 1: HarnessError then)."""
    return _resize(state, signal.SIGTTOU, -1)
