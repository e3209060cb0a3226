"""Stopping a stack: its recorded processes by identity, then leftovers found by marker."""

from __future__ import annotations

import contextlib
import logging
import os

import psutil

from stampede import procs
from stampede.stack.shutdown import shutdown_budget
from stampede.stack.state import COMPONENTS, MARKER_ENV, Draft

logger = logging.getLogger(__name__)


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
        with contextlib.suppress(psutil.Error):  # gone already: nothing to stop
            proc.terminate()
    _, alive = psutil.wait_procs(leftovers, timeout=timeout_s)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(alive, timeout=5)
    return len(leftovers)


def agent_stop_timeout_s(draft: Draft) -> float:
    """How long the agent may take after SIGTERM: computed from its recorded environment."""
    env = draft.agent.env if draft.agent is not None else {}
    return shutdown_budget(env, lenient=True).stop_s


def stop_all(draft: Draft, drain_timeout_s: float | None = None) -> None:
    """Agent first (SIGTERM drains in-flight work), then toolbox, then Redis; then leftovers.

    The agent gets ``drain_timeout_s`` (default `agent_stop_timeout_s`) before SIGKILL. A
    recorded process that is gone, or whose PID now belongs to another process, is skipped.
    """
    if drain_timeout_s is None:
        drain_timeout_s = agent_stop_timeout_s(draft)
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
