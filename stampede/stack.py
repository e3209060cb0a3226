"""The local stack: Redis + toolbox + agent (N uvicorn workers) on 127.0.0.1, managed by PID.

State lives in ``<state_dir>/stack.json`` (docs/contracts.md, "Local stack"), logs in
``<state_dir>/logs/``. Every process is identified by ``(pid, create_time)``, so a recycled PID is
never signalled, and carries ``STAMPEDE_STACK=<state dir>@<started_at>`` in its environment, so
the workers of an agent master killed with SIGKILL (orphans whose PIDs were never recorded) are
still found by ``down``. (redis-server overwrites its environment block when it sets its process
title, so Redis is only ever found by its recorded PID.)

Public API (used by the CLI, the suite runner and the chaos activities):

- ``up(StackConfig) -> StackState``           start (or keep) the stack, wait until it serves
- ``down(state_dir) -> None``                 stop everything it started, remove stack.json
- ``status(state_dir) -> dict``               per component: pid, port, url, alive, ready
- ``load_state(path) -> StackState``          read stack.json (InputError if missing/malformed)
- ``wait_ready(state, timeout_s)``            wait until every component serves again
- ``agent_worker_pids(state) -> list[int]``   live uvicorn workers of the agent
- ``stop_redis(state)`` / ``start_redis(state)``  Redis outage and return, same port and flags
- ``restart_agent_workers(state)``            SIGHUP: graceful one-by-one worker replacement
- ``add_worker(state)`` / ``remove_worker(state)``  SIGTTIN / SIGTTOU, stack.json follows
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import secrets
import shutil
import signal
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from stampede import procs
from stampede._stack_state import (
    COMPONENTS,
    STATE_FILE,
    AgentState,
    RedisState,
    StackState,
    ToolboxState,
    _Component,
    _Draft,
    read_draft,
    read_state,
    write,
)
from stampede.errors import HarnessError, InputError
from target_agent.agent.settings import WEAKNESSES

__all__ = [
    "WEAKNESSES",
    "AgentState",
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

logger = logging.getLogger(__name__)

AGENT_APP = "target_agent.agent.main:app"
TOOLBOX_APP = "target_agent.toolbox.main:app"
MARKER_ENV = "STAMPEDE_STACK"
DRAIN_TIMEOUT_S = 30.0
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_STARTUP_LINE = "Application startup complete"


def default_state_dir() -> Path:
    """``$STAMPEDE_STATE_DIR`` if set, else ``./.stampede``."""
    return Path(os.environ.get("STAMPEDE_STATE_DIR") or ".stampede")


def _state_path(state_dir: str | Path | None) -> Path:
    return (Path(state_dir or default_state_dir()) / STATE_FILE).absolute()


def _check_port(name: str, port: int) -> None:
    if not 0 <= port <= 65535:
        raise InputError(f"{name}: {port} is not a TCP port (0-65535, 0 = any free port)")


@dataclass(frozen=True)
class StackConfig:
    """What ``up`` starts. Ports 0 mean "any free port"; ``env`` extras override the defaults.

    ``agent_app`` is the ASGI app run as the agent (``module:attribute``, importable from the
    current directory): any agent with ``/readyz`` can be put under the stack. ``loop`` is
    uvicorn's ``--loop``: with ``asyncio`` the ``--fd`` socket is what avoids the Nagle floor
    (uvloop sets TCP_NODELAY on accepted sockets itself).
    """

    state_dir: Path = field(default_factory=default_state_dir)
    workers: int = 2
    agent_port: int = 0
    toolbox_port: int = 0
    redis_port: int = 0
    weakness: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    replica: str = "local"
    llm_base_url: str = ""
    restart: bool = False
    graceful_shutdown_s: int = 10
    ready_timeout_s: float = 90.0
    agent_app: str = AGENT_APP
    loop: str = "auto"

    def validate(self) -> None:
        """Raise InputError naming the first bad field."""
        if not 1 <= self.workers <= 64:
            raise InputError(f"--workers: {self.workers} is not between 1 and 64")
        for name, port in (
            ("--agent-port", self.agent_port),
            ("--toolbox-port", self.toolbox_port),
            ("--redis-port", self.redis_port),
        ):
            _check_port(name, port)
        chosen = [p for p in (self.agent_port, self.toolbox_port, self.redis_port) if p]
        if len(chosen) != len(set(chosen)):
            raise InputError(f"ports must differ: agent, toolbox and redis ports are {chosen}")
        if self.weakness and self.weakness not in WEAKNESSES:
            raise InputError(
                f"--weakness: unknown weakness {self.weakness!r} "
                f"(expected one of: {', '.join(WEAKNESSES)})"
            )
        for key in self.env:
            if not _ENV_KEY.match(key):
                raise InputError(f"--env: {key!r} is not a valid environment variable name")
        if ":" not in self.agent_app:
            raise InputError(f"--agent-app: {self.agent_app!r} is not 'module:attribute'")
        if self.loop not in ("auto", "asyncio", "uvloop"):
            raise InputError(f"--loop: {self.loop!r} is not one of auto, asyncio, uvloop")
        if self.graceful_shutdown_s < 0:
            raise InputError("graceful_shutdown_s must be >= 0")


# -- locking: one up/down/start_redis at a time per state dir ------------------------------------


@contextlib.contextmanager
def _locked(state_dir: Path, timeout_s: float = 180.0) -> Iterator[None]:
    state_dir.mkdir(parents=True, exist_ok=True)
    with open(state_dir / ".lock", "a") as handle:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise HarnessError(
                        f"{state_dir}: another stampede up/down still holds the lock "
                        f"after {timeout_s:.0f} s"
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# -- health ------------------------------------------------------------------------------------


def _component_status(name: str, comp: _Component | None) -> dict[str, Any]:
    if comp is None:
        return {"pid": None, "port": None, "url": None, "alive": False, "ready": False}
    url = getattr(comp, "url", None)
    port = getattr(comp, "port", None)
    alive = comp.proc.alive()
    row: dict[str, Any] = {"pid": comp.pid, "port": port, "url": url, "alive": alive}
    if isinstance(comp, RedisState):
        row["ready"] = alive and procs.redis_ping(comp.host, comp.port)
    elif isinstance(comp, ToolboxState):
        row["ready"] = alive and procs.http_status(f"{comp.url}/healthz") == 200
    elif isinstance(comp, AgentState):
        pids = _worker_pids(comp)
        row["workers"] = {"expected": comp.workers, "alive": len(pids), "pids": pids}
        row["ready"] = (
            alive and len(pids) >= comp.workers and procs.http_status(f"{comp.url}/readyz") == 200
        )
    else:  # pragma: no cover - COMPONENTS is closed
        raise AssertionError(name)
    return row


def _single_process(master: psutil.Process) -> bool:
    """uvicorn ``--workers 1`` serves in the master itself: no supervisor, no worker signals."""
    try:
        cmdline = master.cmdline()
    except psutil.Error:
        return False
    return "--workers" in cmdline[:-1] and cmdline[cmdline.index("--workers") + 1] == "1"


def _worker_pids(agent: AgentState) -> list[int]:
    master = agent.proc.process()
    if master is None:
        return []
    if _single_process(master):
        return [master.pid]
    return sorted(child.pid for child in procs.spawn_children(master))


def status(state_dir: str | Path | None = None) -> dict[str, Any]:
    """Per component: pid, port, url, alive, ready (+ workers for the agent).

    Returns ``{"state_file", "started_at", "all_up", "components": {name: row}}``. Works on an
    incomplete stack.json (a component never started is reported down). Raises InputError when
    there is no state file or it is malformed.
    """
    path = _state_path(state_dir)
    draft = read_draft(path)
    rows = {name: _component_status(name, getattr(draft, name)) for name in COMPONENTS}
    return {
        "state_file": str(path),
        "started_at": draft.started_at,
        "all_up": all(row["ready"] for row in rows.values()),
        "components": rows,
    }


def _wait(draft: _Draft, timeout_s: float, *, starting: bool = False) -> None:
    """Until every component is ready; HarnessError with the log tail if one dies or time runs out.

    ``starting``: the stack was just started (its agent log emptied), so also wait until each
    worker logged that its application started: the master's spawn children exist, and one
    worker answers /readyz, while the others may still be importing the app.
    """
    deadline = time.monotonic() + timeout_s
    silent_since: float | None = None
    rows: dict[str, dict[str, Any]] = {}
    while True:
        for name, comp in draft.components():
            if not comp.proc.alive():
                what = "exited during start-up" if starting else "is gone"
                raise HarnessError(
                    f"{name} (pid {comp.pid}) {what}; last lines of {comp.log}:\n"
                    f"{comp.proc.log_tail()}"
                )
        rows = {name: _component_status(name, comp) for name, comp in draft.components()}
        ready = len(rows) == len(COMPONENTS) and all(row["ready"] for row in rows.values())
        if ready and starting and draft.agent is not None:
            started = _count_in_log(draft.agent.log, _STARTUP_LINE)
            # No line at all while a worker serves: the app hides uvicorn's log; trust the rest.
            silent_since = (silent_since or time.monotonic()) if started == 0 else None
            hidden = silent_since is not None and time.monotonic() - silent_since > 5.0
            ready = started >= draft.agent.workers or hidden
        if ready:
            return
        if time.monotonic() > deadline:
            waiting = [name for name, row in rows.items() if not row["ready"]] or ["agent"]
            tails = "\n".join(
                f"--- {name}: {comp.log}\n{comp.proc.log_tail(15)}"
                for name, comp in draft.components()
                if name in waiting
            )
            raise HarnessError(
                f"stack not ready after {timeout_s:.0f} s (waiting for {', '.join(waiting)}):\n"
                f"{tails}"
            )
        time.sleep(0.2)


def _count_in_log(log: str, needle: str) -> int:
    try:
        return Path(log).read_text(errors="replace").count(needle)
    except OSError:
        return 0


def wait_ready(state: StackState, timeout_s: float = 30.0) -> None:
    """Wait until Redis answers PING, the toolbox /healthz and the agent /readyz with all workers.

    Raises HarnessError with the log tail when a process is gone or time runs out.
    """
    _wait(state, timeout_s)


# -- stopping ----------------------------------------------------------------------------------


def _marked_processes(marker: str) -> list[psutil.Process]:
    """Our user's processes whose environment carries ``STAMPEDE_STACK=<marker>``."""
    uid, me = os.getuid(), os.getpid()
    found = []
    for proc in psutil.process_iter(["uids"]):
        try:
            if proc.pid == me or proc.info["uids"] is None or proc.info["uids"].real != uid:
                continue
            if proc.environ().get(MARKER_ENV) == marker:
                found.append(proc)
        except psutil.Error:
            continue
    return found


def _stop_marked(marker: str, timeout_s: float = 5.0) -> int:
    """Stop leftovers of a stack (e.g. workers of a SIGKILLed agent master). Returns how many."""
    leftovers = _marked_processes(marker)
    for proc in leftovers:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    _, alive = psutil.wait_procs(leftovers, timeout=timeout_s)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(alive, timeout=5)
    return len(leftovers)


def _stop_all(draft: _Draft, drain_timeout_s: float = DRAIN_TIMEOUT_S) -> None:
    """Agent first (SIGTERM drains in-flight work), then toolbox, then Redis; then leftovers."""
    for name in reversed(COMPONENTS):
        comp = getattr(draft, name)
        if comp is None:
            continue
        timeout = drain_timeout_s if name == "agent" else 10.0
        if procs.stop(comp.proc, timeout_s=timeout):
            logger.info("stopped %s (pid %d)", name, comp.pid)
        else:
            logger.info("%s (pid %d) was not running", name, comp.pid)
    orphans = _stop_marked(draft.stack_marker())
    if orphans:
        logger.info("stopped %d leftover process(es) of this stack", orphans)


def down(state_dir: str | Path | None = None, drain_timeout_s: float = DRAIN_TIMEOUT_S) -> None:
    """Stop everything the stack started and remove stack.json; a no-op when nothing runs.

    Works after a crash or with a stale state file: dead PIDs are skipped, a PID now used by
    another process (different create_time) is never signalled. The agent gets SIGTERM first and
    up to ``drain_timeout_s`` to drain before SIGKILL. InputError if stack.json is malformed.
    """
    path = _state_path(state_dir)
    with _locked(path.parent):
        if not path.exists():
            logger.info("no local stack at %s: nothing to stop", path)
            return
        draft = read_draft(path)
        _stop_all(draft, drain_timeout_s)
        path.unlink(missing_ok=True)


# -- starting ----------------------------------------------------------------------------------


def _pick_port(name: str, wanted: int) -> int:
    if not wanted:
        return procs.free_port()
    if not procs.port_is_free(wanted):
        raise HarnessError(f"{name} port {wanted} on {procs.LOCALHOST} is already in use")
    return wanted


def _spawn_redis(draft: _Draft, port: int, executable: str | None = None) -> RedisState:
    state_dir = draft.path.parent
    data_dir = state_dir / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    cmd = procs.redis_command(port, data_dir, executable)
    log = state_dir / "logs" / "redis.log"
    proc = procs.spawn(cmd, log, env={MARKER_ENV: draft.stack_marker()})
    host = procs.LOCALHOST
    return RedisState(
        pid=proc.pid,
        create_time=proc.create_time,
        host=host,
        port=port,
        url=f"redis://{host}:{port}/0",
        executable=cmd[0],
        log=proc.log,
    )


def _uvicorn(app: str, config: StackConfig, *args: str) -> list[str]:
    return procs.python_cmd(
        "-m",
        "uvicorn",
        app,
        *args,
        "--loop",
        config.loop,
        "--timeout-graceful-shutdown",
        str(config.graceful_shutdown_s),
        "--no-access-log",
        "--log-level",
        "info",
    )


def _spawn_toolbox(draft: _Draft, port: int, config: StackConfig) -> ToolboxState:
    cmd = _uvicorn(TOOLBOX_APP, config, "--host", procs.LOCALHOST, "--port", str(port))
    env = {MARKER_ENV: draft.stack_marker(), "TOOLBOX_ADMIN_TOKEN": draft.admin_token}
    proc = procs.spawn(cmd, draft.path.parent / "logs" / "toolbox.log", env=env)
    url = f"http://{procs.LOCALHOST}:{port}"
    return ToolboxState(
        pid=proc.pid, create_time=proc.create_time, port=port, url=url, log=proc.log
    )


def _agent_env(
    config: StackConfig, redis: RedisState, toolbox: ToolboxState, prom_dir: Path
) -> dict[str, str]:
    env = {
        "AGENT_TOOLBOX_URL": toolbox.url,
        "AGENT_REDIS_URL": redis.url,
        "AGENT_LLM_BASE_URL": config.llm_base_url or f"{toolbox.url}/v1",
        "AGENT_WEAKNESS": config.weakness or "",
        "AGENT_REPLICA": config.replica,
        "PROMETHEUS_MULTIPROC_DIR": str(prom_dir),
    }
    env.update(config.env)
    return env


def _spawn_agent(draft: _Draft, config: StackConfig, env: Mapping[str, str]) -> AgentState:
    # Our own listening socket with TCP_NODELAY, handed over with --fd: see procs.listen_socket.
    sock = procs.listen_socket(config.agent_port)
    try:
        port = int(sock.getsockname()[1])
        fd = sock.fileno()
        cmd = _uvicorn(
            config.agent_app,
            config,
            "--fd",
            str(fd),
            "--workers",
            str(config.workers),
            # A replacement worker imports the whole agent before it answers uvicorn's health
            # check; under load on 2 cores that takes longer than uvicorn's default 5 s, and a
            # SIGHUP rolling restart is then aborted ("New child process ... was not ready in
            # time"). The same timeout bounds the liveness ping of a hung worker.
            "--timeout-worker-healthcheck",
            "30",
        )
        proc = procs.spawn(
            cmd,
            draft.path.parent / "logs" / "agent.log",
            env={**env, MARKER_ENV: draft.stack_marker()},
            pass_fds=[fd],
        )
    finally:
        sock.close()
    return AgentState(
        pid=proc.pid,
        create_time=proc.create_time,
        port=port,
        url=f"http://{procs.LOCALHOST}:{port}",
        workers=config.workers,
        weakness=env.get("AGENT_WEAKNESS") or None,
        env=dict(env),
        log=proc.log,
    )


def _start(config: StackConfig, path: Path) -> StackState:
    state_dir = path.parent
    logs = state_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    for name in COMPONENTS:
        (logs / f"{name}.log").write_bytes(b"")
    prom_dir = state_dir / "prometheus"
    shutil.rmtree(prom_dir, ignore_errors=True)
    prom_dir.mkdir(parents=True)

    draft = _Draft(started_at=time.time(), admin_token=secrets.token_urlsafe(24))
    write(draft, path)
    try:
        redis = _spawn_redis(draft, _pick_port("redis", config.redis_port))
        draft = draft.model_copy(update={"redis": redis})
        write(draft, path)
        logger.info("redis   pid %d on %s", redis.pid, redis.url)

        toolbox = _spawn_toolbox(draft, _pick_port("toolbox", config.toolbox_port), config)
        draft = draft.model_copy(update={"toolbox": toolbox})
        write(draft, path)
        logger.info("toolbox pid %d on %s", toolbox.pid, toolbox.url)

        agent = _spawn_agent(draft, config, _agent_env(config, redis, toolbox, prom_dir))
        draft = draft.model_copy(update={"agent": agent})
        write(draft, path)
        logger.info("agent   pid %d on %s (%d workers)", agent.pid, agent.url, agent.workers)

        _wait(draft, config.ready_timeout_s, starting=True)
    except BaseException:
        logger.info("start-up failed: stopping what was started")
        _stop_all(draft, drain_timeout_s=5.0)
        path.unlink(missing_ok=True)
        raise
    return read_state(path)


def _differences(state: StackState, config: StackConfig) -> list[str]:
    diffs = []
    if state.agent.workers != config.workers:
        diffs.append(f"workers {state.agent.workers} (asked {config.workers})")
    if (state.agent.weakness or None) != (config.weakness or None):
        diffs.append(f"weakness {state.agent.weakness} (asked {config.weakness})")
    for name, have, want in (
        ("agent port", state.agent.port, config.agent_port),
        ("toolbox port", state.toolbox.port, config.toolbox_port),
        ("redis port", state.redis.port, config.redis_port),
    ):
        if want and have != want:
            diffs.append(f"{name} {have} (asked {want})")
    diffs += [
        f"env {key}" for key, value in config.env.items() if state.agent.env.get(key) != value
    ]
    return diffs


def up(config: StackConfig) -> StackState:
    """Start Redis, the toolbox and the agent (N workers) and wait until all of them serve.

    Idempotent: when every process of the stack recorded in the state dir still runs, it is kept
    (``up`` waits until it serves and returns it) unless ``config.restart``; a stale or
    half-dead one (some process gone) is stopped and replaced. If a process dies during
    start-up, everything started is stopped and HarnessError carries the tail of its log.
    InputError for a bad config.
    """
    config.validate()
    path = _state_path(config.state_dir)  # absolute: logs and dirs in stack.json work anywhere
    with _locked(path.parent):
        if path.exists():
            draft = read_draft(path)
            components = draft.components()
            alive = len(components) == len(COMPONENTS) and all(
                comp.proc.alive() for _, comp in components
            )
            if alive and not config.restart:
                return _keep(read_state(path), config)
            why = "restart requested" if alive else "stale state (some processes are gone)"
            logger.info("%s: stopping what is left of the stack in %s", why, path.parent)
            _stop_all(draft)
            path.unlink(missing_ok=True)
        return _start(config, path)


def _keep(state: StackState, config: StackConfig) -> StackState:
    """Every process of the recorded stack runs: wait until it serves, and say what differs."""
    try:
        _wait(state, config.ready_timeout_s)
    except HarnessError as exc:
        raise HarnessError(
            f"{exc}\nThe stack in {state.path.parent} runs but does not get ready; "
            "`stampede up --restart` replaces it."
        ) from exc
    logger.info("stack already running (%s): keeping it", state.path)
    diffs = _differences(state, config)
    if diffs:
        logger.warning("the running stack differs: %s; use --restart to apply", "; ".join(diffs))
    return state


# -- API for chaos activities ------------------------------------------------------------------


def load_state(path: str | Path | None = None) -> StackState:
    """Read a complete stack.json (default ``$STAMPEDE_STACK_STATE``, else the default state dir).

    Raises InputError naming the file and the problem when it is missing, not JSON, malformed
    or incomplete (an ``up`` failed or is still running).
    """
    chosen = path or os.environ.get("STAMPEDE_STACK_STATE") or _state_path(None)
    return read_state(Path(chosen))


def _current(state: StackState) -> StackState:
    """The state as stack.json has it now (another call may have restarted Redis since)."""
    return read_state(state.path) if state.path.exists() else state


def agent_worker_pids(state: StackState) -> list[int]:
    """PIDs of the agent's live uvicorn workers (the master's spawn children), sorted.

    Empty when the master is gone (or its PID was recycled). With ``--workers 1`` uvicorn serves
    in the master itself (no supervisor): the list is then the master's pid, and nothing
    restarts it if it is killed.
    """
    return _worker_pids(state.agent)


def stop_redis(state: StackState, timeout_s: float = 5.0) -> bool:
    """Stop the stack's Redis (SIGTERM, SIGKILL after ``timeout_s``). True if it was running.

    stack.json keeps the old entry (status shows Redis down) until ``start_redis``.
    """
    return procs.stop(_current(state).redis.proc, timeout_s=timeout_s)


def start_redis(state: StackState, timeout_s: float = 15.0) -> StackState:
    """Start the stack's Redis again on the same port with the same flags; return the new state.

    A no-op when it runs. stack.json gets the new pid/create_time. Raises HarnessError with the
    log tail when it does not answer PING within ``timeout_s`` (or the port stays taken).
    """
    with _locked(state.path.parent):
        current = _current(state)
        old = current.redis
        if old.proc.alive():
            return current
        deadline = time.monotonic() + timeout_s
        while not procs.port_is_free(old.port):
            if time.monotonic() > deadline:
                raise HarnessError(f"redis port {old.port} is still taken {timeout_s:.0f} s later")
            time.sleep(0.1)
        redis = _spawn_redis(current, old.port, old.executable)
        while not procs.redis_ping(redis.host, redis.port):
            if not redis.proc.alive() or time.monotonic() > deadline:
                procs.stop(redis.proc)
                raise HarnessError(
                    f"redis did not come back on port {old.port}; last lines of {redis.log}:\n"
                    f"{redis.proc.log_tail()}"
                )
            time.sleep(0.05)
        new = current.model_copy(update={"redis": redis})
        write(new, current.path)
        logger.info("redis restarted: pid %d on %s", redis.pid, redis.url)
        return read_state(current.path)


def _signal_master(state: StackState, sig: signal.Signals) -> None:
    agent = _current(state).agent
    master = agent.proc.process()
    if master is None:
        raise HarnessError(f"agent master (pid {agent.pid}) is not running: cannot send {sig.name}")
    if _single_process(master):
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
    with _locked(state.path.parent):
        current = _current(state)
        workers = current.agent.workers + delta
        if workers < 1:
            raise HarnessError("the agent runs 1 worker: cannot remove the last one")
        _signal_master(current, sig)
        new = current.model_copy(
            update={"agent": current.agent.model_copy(update={"workers": workers})}
        )
        write(new, current.path)
        return read_state(current.path)


def add_worker(state: StackState) -> StackState:
    """SIGTTIN the agent master: one more worker. stack.json records the new worker count.

    HarnessError when the master is gone or single-process (``--workers 1``).
    """
    return _resize(state, signal.SIGTTIN, +1)


def remove_worker(state: StackState) -> StackState:
    """SIGTTOU the agent master: one worker fewer (never below 1: HarnessError then)."""
    return _resize(state, signal.SIGTTOU, -1)
