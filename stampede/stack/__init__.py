"""The local stack: Redis + toolbox (+ fault proxy) + agent (N uvicorn workers) on 127.0.0.1.

State lives in ``<state_dir>/stack.json`` (docs/contracts.md, "Local stack"), logs in
``<state_dir>/logs/``. With ``StackConfig(proxy=True)`` (``stampede up --proxy``) the fault
proxy (``stampede proxy``) runs between the agent and the toolbox with its own port and admin
token; ``StackState.proxy`` (None without one) has its ``url``, ``admin_token`` and
``metrics_url``: the fault API and the metrics a target exposes. Every process is started
through `stampede.procs`, identified by ``(pid, create_time)``, so a recycled PID is never
signalled, and carries ``STAMPEDE_STACK=<state dir>@<started_at>`` in its environment, so the
workers of an agent master killed with SIGKILL (orphans whose PIDs were never recorded) are
still found by ``down``. (redis-server overwrites its environment block when it sets its
process title, so Redis is only ever found by its recorded PID.)

Public API (used by the CLI, the suite runner and the chaos activities):

- ``up(StackConfig) -> StackState``           start (or keep) the stack, wait until it serves
- ``down(state_dir) -> None``                 stop everything it started, remove stack.json
- ``status(state_dir) -> dict``               per component: pid, port, url, alive, ready
                                              (``proxy`` only when the stack has one)
- ``load_state(path) -> StackState``          read stack.json (InputError if missing/malformed)
- ``default_state_dir() -> Path``             ``$STAMPEDE_STATE_DIR``, else ``./.stampede``
- ``wait_ready(state, timeout_s)``            wait until every component serves again
- ``agent_worker_pids(state) -> list[int]``   live uvicorn workers of the agent
- ``stop_redis(state)`` / ``start_redis(state)``  Redis outage and return, same port and flags
- ``restart_agent_workers(state)``            SIGHUP: graceful one-by-one worker replacement
- ``add_worker(state)`` / ``remove_worker(state)``  SIGTTIN / SIGTTOU, stack.json follows

Modules: `config` (StackConfig), `state` (stack.json), `lock`, `components` (starting each
process), `health` (status, waiting), `stopping`, `lifecycle` (up, down), `operations` (what
chaos activities do to a running stack).
"""

from __future__ import annotations

from stampede.stack.config import AGENT_APP, StackConfig
from stampede.stack.health import status, wait_ready
from stampede.stack.lifecycle import down, up
from stampede.stack.operations import (
    add_worker,
    agent_worker_pids,
    remove_worker,
    restart_agent_workers,
    start_redis,
    stop_redis,
)
from stampede.stack.state import (
    MARKER_ENV,
    AgentState,
    ProxyState,
    RedisState,
    StackState,
    ToolboxState,
    default_state_dir,
    load_state,
)
from target_agent.agent.weaknesses import WEAKNESSES

__all__ = [
    "AGENT_APP",
    "MARKER_ENV",
    "WEAKNESSES",
    "AgentState",
    "ProxyState",
    "RedisState",
    "StackConfig",
    "StackState",
    "ToolboxState",
    "add_worker",
    "agent_worker_pids",
    "default_state_dir",
    "down",
    "load_state",
    "remove_worker",
    "restart_agent_workers",
    "start_redis",
    "status",
    "stop_redis",
    "up",
    "wait_ready",
]
