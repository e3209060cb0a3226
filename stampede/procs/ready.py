"""Waiting until a process we started serves, and starting one that must serve before we go on.

A *probe* is a function returning None once the process is ready, else a short account of what
it saw (``"HTTP 503"``, ``"no answer"``); the errors quote it together with the log tail.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from stampede.errors import HarnessError
from stampede.procs.net import http_status
from stampede.procs.process import Proc, spawn, stop

Probe = Callable[[], str | None]


def http_ok(url: str) -> Probe:
    """A probe ready when ``GET url`` answers 200."""

    def probe() -> str | None:
        code = http_status(url, timeout_s=1.0)
        if code == 200:
            return None
        return f"HTTP {code}" if code is not None else "no answer"

    return probe


def wait_ready(
    proc: Proc, probe: Probe, what: str, timeout_s: float = 30.0, poll_s: float = 0.1
) -> None:
    """Poll ``probe`` until it says ready (HarnessError with the log tail if ``proc`` dies).

    Raises HarnessError, quoting the probe's last answer, when ``timeout_s`` runs out.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        if not proc.alive():
            raise HarnessError(
                f"{what}: process {proc.pid} exited during start-up; log {proc.log}:\n"
                f"{proc.log_tail()}"
            )
        last = probe()
        if last is None:
            return
        if time.monotonic() > deadline:
            raise HarnessError(
                f"{what}: not ready after {timeout_s:.0f} s ({last}); log {proc.log}:\n"
                f"{proc.log_tail()}"
            )
        time.sleep(poll_s)


def wait_http_ok(url: str, proc: Proc, timeout_s: float = 30.0, what: str = "") -> None:
    """Wait until ``url`` answers 200; fail with the log tail if ``proc`` dies or time runs out."""
    wait_ready(proc, http_ok(url), what or url, timeout_s)


def ensure_ready(proc: Proc, probe: Probe, what: str, timeout_s: float = 30.0) -> Proc:
    """`wait_ready` on a process just spawned; stop it again if it does not get ready.

    The process is stopped before the error (or an interrupt) propagates, so a failed start
    leaves nothing behind. Returns ``proc``.
    """
    try:
        wait_ready(proc, probe, what, timeout_s, poll_s=0.05)
    except BaseException:
        stop(proc)
        raise
    return proc


def start(
    cmd: Sequence[str],
    log: Path,
    probe: Probe,
    what: str,
    timeout_s: float = 30.0,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Proc:
    """`spawn` ``cmd`` and `ensure_ready` on ``probe``: a process that serves, or none at all."""
    return ensure_ready(spawn(cmd, log, env=env, cwd=cwd), probe, what, timeout_s)
