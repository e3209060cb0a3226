"""What every local-stack activity shares: find and load the stack, talk to it, guard its PIDs.

Private to the extension (not discovered). The state file an activity acts on is, first found:

1. the activity's ``state_file`` argument,
2. ``configuration["state_file"]`` (experiments set it from ``$STAMPEDE_STACK_STATE``),
3. ``$STAMPEDE_STACK_STATE``,
4. ``$STAMPEDE_STATE_DIR/stack.json``,
5. ``.stampede/stack.json`` (relative to the working directory).

Every failure an experiment author can meet is an ``ActivityFailed`` naming what, which and
expected vs actual. Nothing here runs at import time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict  # noqa: UP035 (see Figures)
from urllib.parse import urlsplit

import httpx
import psutil
from chaoslib.exceptions import ActivityFailed

from stampede.errors import StampedeError
from stampede.stack import StackState, agent_worker_pids, load_state

#: What probes and actions return when they return figures. ``typing.Dict`` on purpose:
#: chaoslib's discovery names ``typing.Dict[...]`` "mapping" but ``dict[...]`` "object".
Figures = Dict[str, Any]  # noqa: UP006

DEFAULT_STATE_FILE = ".stampede/stack.json"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
#: psutil create_time is a float rounded by the kernel's clock tick; same tolerance as procs.
CREATE_TIME_TOLERANCE_S = 0.01


def state_path(state_file: str = "", configuration: Any = None) -> Path:
    """The state file to act on (see the module docstring for the order)."""
    if state_file:
        return Path(state_file)
    if isinstance(configuration, dict):
        configured = configuration.get("state_file")
        if isinstance(configured, str) and configured:
            return Path(configured)
    if os.environ.get("STAMPEDE_STACK_STATE"):
        return Path(os.environ["STAMPEDE_STACK_STATE"])
    if os.environ.get("STAMPEDE_STATE_DIR"):
        return Path(os.environ["STAMPEDE_STATE_DIR"]) / "stack.json"
    return Path(DEFAULT_STATE_FILE)


def load(state_file: str = "", configuration: Any = None) -> StackState:
    """The local stack's state; ActivityFailed when there is no stack or the file is bad."""
    path = state_path(state_file, configuration)
    try:
        return load_state(path)
    except StampedeError as exc:
        raise ActivityFailed(f"local stack state {path}: {exc}") from exc


def local_url(url: str, what: str) -> str:
    """``url`` without a trailing slash; ActivityFailed unless it points at this machine."""
    host = urlsplit(url).hostname or ""
    if host not in LOCAL_HOSTS:
        raise ActivityFailed(
            f"{what} URL {url!r} is not on 127.0.0.1: local activities only talk to this machine"
        )
    return url.rstrip("/")


def http_client(timeout_s: float) -> httpx.Client:
    """An HTTP client for the local stack: bounded timeouts, no proxies, no keep-alive.

    Without keep-alive every request is a new connection, so it lands on a live agent worker
    (a connection pinned to a killed worker would make the agent look down when it is not).
    """
    return httpx.Client(
        timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 2.0)),
        limits=httpx.Limits(max_keepalive_connections=0, max_connections=64),
        trust_env=False,
        headers={"User-Agent": "stampede-chaos-activity"},
    )


def agent_log(state: StackState) -> str:
    """The agent's log file. A relative path in stack.json is relative to where ``stampede up``
    ran; when that is not here, the contract's layout (``<state dir>/logs/``) finds it.
    """
    log = Path(state.agent.log)
    if log.is_absolute() or log.exists():
        return str(log)
    return str(Path(state.path).resolve().parent / "logs" / log.name)


def agent_master(state: StackState) -> psutil.Process:
    """The agent's uvicorn master this stack started; ActivityFailed if it is gone or not ours.

    Ours means: the PID recorded in the state file runs, and started at the recorded
    ``create_time`` (a recycled PID belongs to someone else and is never touched).
    """
    pid, recorded = state.agent.pid, state.agent.create_time
    try:
        proc = psutil.Process(pid)
        started = proc.create_time()
        zombie = proc.status() == psutil.STATUS_ZOMBIE
    except psutil.Error as exc:
        raise ActivityFailed(
            f"agent master pid {pid} from {state.path} is not running ({type(exc).__name__})"
        ) from exc
    if abs(started - recorded) > CREATE_TIME_TOLERANCE_S:
        raise ActivityFailed(
            f"agent master pid {pid} from {state.path} is not the process this stack started: "
            f"create_time {started:.2f} != recorded {recorded:.2f} (PID reused?)"
        )
    if zombie:
        raise ActivityFailed(f"agent master pid {pid} from {state.path} is a zombie")
    return proc


def agent_workers(state: StackState) -> list[psutil.Process]:
    """The live worker processes of this stack's agent, each verified to be a child of it."""
    master = agent_master(state)
    workers = []
    for pid in agent_worker_pids(state):
        try:
            proc = psutil.Process(pid)
            if proc.ppid() != master.pid or proc.status() == psutil.STATUS_ZOMBIE:
                continue
        except psutil.Error:
            continue
        workers.append(proc)
    return workers
