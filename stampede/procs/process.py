"""A process we started: start by argv, identify by ``(pid, create_time)``, stop by that identity.

A recycled PID is never signalled: every signal goes through `Proc`, which checks that the
process at ``pid`` was created at ``create_time``. Processes run in their own session (a
terminal Ctrl-C reaches only the harness) with stdout+stderr appended to a log file.

- `spawn` starts a process and forgets its ``Popen`` (stack components, test servers);
- `Child` keeps the ``Popen`` of a process the caller waits for and reads the exit code of
  (Locust, ``chaos --no-version-check run``);
- `stop` signals a `Proc` and its children, then SIGKILLs what is left.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from stampede.errors import HarnessError


@dataclass(frozen=True)
class Proc:
    """A process we started: enough to find it again and to read why it died."""

    pid: int
    create_time: float
    log: str

    def process(self) -> psutil.Process | None:
        """The live process, or None when it is gone or the PID now belongs to another one."""
        try:
            proc = psutil.Process(self.pid)
            if abs(proc.create_time() - self.create_time) > 0.01:
                return None
            if proc.status() == psutil.STATUS_ZOMBIE:
                return None
            return proc
        except psutil.Error:
            return None

    def alive(self) -> bool:
        """True while this very process (pid *and* create_time) runs and is not a zombie."""
        return self.process() is not None

    def send_signal(self, sig: int) -> bool:
        """Send ``sig`` if this very process (pid *and* create_time) still runs. True if sent."""
        live = self.process()
        if live is None:
            return False
        try:
            live.send_signal(sig)
        except psutil.Error:
            return False
        return True

    def log_tail(self, lines: int = 30) -> str:
        """The last ``lines`` lines of the process's log, ``(no log)`` if it cannot be read."""
        try:
            text = Path(self.log).read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def _popen(
    cmd: Sequence[str],
    log: Path,
    env: Mapping[str, str] | None,
    cwd: Path | None,
    pass_fds: Sequence[int],
) -> tuple[subprocess.Popen[bytes], Proc]:
    """Start ``cmd`` in its own session, output appended to ``log``; its Popen and identity."""
    log.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, **(env or {})}
    full_env.setdefault("PYTHONUNBUFFERED", "1")
    with open(log, "ab") as out:
        popen = subprocess.Popen(
            list(cmd),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=full_env,
            cwd=cwd,
            start_new_session=True,
            pass_fds=tuple(pass_fds),
        )
    # Not reaped until polled: the PID (and its create_time) cannot be reused before this reads.
    return popen, Proc(popen.pid, psutil.Process(popen.pid).create_time(), str(log))


def spawn(
    cmd: Sequence[str],
    log: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    pass_fds: Sequence[int] = (),
) -> Proc:
    """Start ``cmd`` in its own session with stdout+stderr appended to ``log``.

    ``env`` extends this process's environment (``PYTHONUNBUFFERED=1`` unless set).
    """
    return _popen(cmd, log, env, cwd, pass_fds)[1]


def stop(proc: Proc, timeout_s: float = 10.0, sig: int = signal.SIGTERM) -> bool:
    """Signal ``proc`` (and its children), wait, then SIGKILL what is left. True if it ran."""
    live = proc.process()
    if live is None:
        return False
    try:
        family = [live, *live.children(recursive=True)]
    except psutil.Error:
        family = [live]
    try:
        live.send_signal(sig)
    except psutil.Error:
        return False
    _, alive = psutil.wait_procs([live], timeout=timeout_s)
    for leftover in [*alive, *family[1:]]:
        try:
            if leftover.is_running():
                leftover.kill()
        except psutil.Error:
            pass  # it exited between is_running() and kill(): what we wanted
    psutil.wait_procs(family, timeout=5)
    return True


def spawn_children(parent: psutil.Process) -> list[psutil.Process]:
    """The ``multiprocessing`` spawn children of ``parent`` (uvicorn workers), not its helpers.

    uvicorn ``--workers`` starts each worker with ``spawn_main(...) --multiprocessing-fork``; the
    resource tracker it may also start is a child too, but runs ``resource_tracker``.
    """
    found = []
    try:
        children = parent.children()
    except psutil.Error:
        return []
    for child in children:
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                continue
            if "--multiprocessing-fork" in child.cmdline():
                found.append(child)
        except psutil.Error:
            continue
    return found


class Child:
    """A subprocess the caller waits for (Locust, chaos): its own session, logged, its exit code.

    Signals go through `Proc` (pid + create_time) and only while the process is not reaped, so
    a recycled PID is never signalled.
    """

    def __init__(
        self,
        what: str,
        cmd: Sequence[str],
        log: Path,
        env: Mapping[str, str],
        cwd: Path,
    ) -> None:
        self.what = what
        self.cmd = list(cmd)
        self.log = log
        self.popen, self.proc = _popen(
            self.cmd, log, {"PYTHONUNBUFFERED": "1", **env}, cwd, pass_fds=()
        )

    @property
    def pid(self) -> int:
        """The child's PID."""
        return self.proc.pid

    def poll(self) -> int | None:
        """The exit code if it has exited (it is reaped then), else None."""
        return self.popen.poll()

    def log_tail(self, lines: int = 20) -> str:
        """The last ``lines`` lines of its log."""
        return self.proc.log_tail(lines)

    def wait(self, timeout_s: float) -> int | None:
        """Wait up to ``timeout_s`` for it to exit: the exit code, None if it still runs."""
        try:
            return self.popen.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def signal(self, sig: int) -> None:
        """Send ``sig`` if it still runs (a no-op once it exited)."""
        if self.popen.poll() is None:
            self.proc.send_signal(sig)

    def stop(self, first: int, grace_s: float) -> int:
        """Send ``first``, wait ``grace_s``, then SIGTERM 5 s, then SIGKILL. Only this PID."""
        if self.poll() is not None:
            return int(self.popen.returncode)
        self.signal(first)
        code = self.wait(grace_s)
        if code is None and first != signal.SIGTERM:
            self.signal(signal.SIGTERM)
            code = self.wait(5)
        if code is None:
            self.signal(signal.SIGKILL)
            code = self.wait(5)
        return int(code) if code is not None else -9


def python_cmd(*args: str) -> list[str]:
    """A command line running this interpreter (the project's venv)."""
    return [sys.executable, *args]


def tool(name: str) -> str:
    """The console script ``name`` next to this interpreter (the venv), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise HarnessError(f"`{name}` not found next to {sys.executable} nor on PATH")
    return found
