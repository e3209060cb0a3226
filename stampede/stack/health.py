"""Is the stack serving? Per-component status, the agent's workers, and waiting until ready."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import psutil

from stampede import procs
from stampede.errors import HarnessError
from stampede.stack.state import (
    COMPONENTS,
    REQUIRED,
    AgentState,
    Component,
    Draft,
    ProxyState,
    RedisState,
    StackState,
    ToolboxState,
    read_draft,
    state_path,
)

#: What uvicorn logs once per worker when its application has started.
STARTUP_LINE = "Application startup complete"


def single_process(master: psutil.Process) -> bool:
    """uvicorn ``--workers 1`` serves in the master itself: no supervisor, no worker signals."""
    try:
        cmdline = master.cmdline()
    except psutil.Error:
        return False
    return "--workers" in cmdline[:-1] and cmdline[cmdline.index("--workers") + 1] == "1"


def worker_pids(agent: AgentState) -> list[int]:
    """The live uvicorn workers of ``agent`` (its master with ``--workers 1``), sorted."""
    master = agent.proc.process()
    if master is None:
        return []
    if single_process(master):
        return [master.pid]
    return sorted(child.pid for child in procs.spawn_children(master))


def component_status(name: str, comp: Component | None) -> dict[str, Any]:
    """One row of `status`: pid, port, url, alive, ready (+ workers for the agent)."""
    if comp is None:
        return {"pid": None, "port": None, "url": None, "alive": False, "ready": False}
    url = getattr(comp, "url", None)
    port = getattr(comp, "port", None)
    alive = comp.proc.alive()
    row: dict[str, Any] = {"pid": comp.pid, "port": port, "url": url, "alive": alive}
    if isinstance(comp, RedisState):
        row["ready"] = alive and procs.redis_ping(comp.host, comp.port, password=comp.password)
    elif isinstance(comp, ToolboxState | ProxyState):
        row["ready"] = alive and procs.http_status(f"{comp.url}/healthz") == 200
    elif isinstance(comp, AgentState):
        pids = worker_pids(comp)
        row["workers"] = {"expected": comp.workers, "alive": len(pids), "pids": pids}
        row["ready"] = (
            alive and len(pids) >= comp.workers and procs.http_status(f"{comp.url}/readyz") == 200
        )
    else:  # pragma: no cover - COMPONENTS is closed
        raise AssertionError(name)
    return row


def status(state_dir: str | Path | None = None) -> dict[str, Any]:
    """Per component: pid, port, url, alive, ready (+ workers for the agent).

    Returns ``{"state_file", "started_at", "all_up", "components": {name: row}}``, in start
    order; ``proxy`` only for a stack that has one. Works on an incomplete stack.json (a
    required component never started is reported down). Raises InputError when there is no
    state file or it is malformed.
    """
    path = state_path(state_dir)
    draft = read_draft(path)
    rows = {
        name: component_status(name, getattr(draft, name))
        for name in COMPONENTS
        if name in REQUIRED or getattr(draft, name) is not None
    }
    return {
        "state_file": str(path),
        "started_at": draft.started_at,
        "all_up": all(row["ready"] for row in rows.values()),
        "components": rows,
    }


def _count_in_log(log: str, needle: str) -> int:
    try:
        return Path(log).read_text(errors="replace").count(needle)
    except OSError:
        return 0


def _check_alive(draft: Draft, starting: bool) -> None:
    for name, comp in draft.components():
        if not comp.proc.alive():
            what = "exited during start-up" if starting else "is gone"
            tail = comp.proc.log_tail()
            raise HarnessError(f"{name} (pid {comp.pid}) {what}; last lines of {comp.log}:\n{tail}")


def _not_ready(draft: Draft, rows: dict[str, dict[str, Any]], timeout_s: float) -> HarnessError:
    waiting = [name for name, row in rows.items() if not row["ready"]] or ["agent"]
    tails = "\n".join(
        f"--- {name}: {comp.log}\n{comp.proc.log_tail(15)}"
        for name, comp in draft.components()
        if name in waiting
    )
    return HarnessError(
        f"stack not ready after {timeout_s:.0f} s (waiting for {', '.join(waiting)}):\n{tails}"
    )


def wait(draft: Draft, timeout_s: float, *, starting: bool = False) -> None:
    """Until every component is ready; HarnessError with the log tail if one dies or time runs out.

    ``starting``: the stack was just started (its agent log emptied), so also wait until each
    worker logged that its application started: the master's spawn children exist, and one
    worker answers /readyz, while the others may still be importing the app.
    """
    deadline = time.monotonic() + timeout_s
    silent_since: float | None = None
    while True:
        _check_alive(draft, starting)
        rows = {name: component_status(name, comp) for name, comp in draft.components()}
        ready = not draft.missing() and all(row["ready"] for row in rows.values())
        if ready and starting and draft.agent is not None:
            started = _count_in_log(draft.agent.log, STARTUP_LINE)
            # No line at all while a worker serves: the app hides uvicorn's log; trust the rest.
            silent_since = (silent_since or time.monotonic()) if started == 0 else None
            hidden = silent_since is not None and time.monotonic() - silent_since > 5.0
            ready = started >= draft.agent.workers or hidden
        if ready:
            return
        if time.monotonic() > deadline:
            raise _not_ready(draft, rows, timeout_s)
        time.sleep(0.2)


def wait_ready(state: StackState, timeout_s: float = 30.0) -> None:
    """Wait until Redis answers PING, the toolbox (and proxy) /healthz, the agent /readyz.

    Raises HarnessError with the log tail when a process is gone or time runs out.
    """
    wait(state, timeout_s)
