"""Local TCP: free ports, the agent's listening socket, and HTTP status checks on 127.0.0.1."""

from __future__ import annotations

import socket
import time

import httpx

from stampede.errors import HarnessError

LOCALHOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int, host: str = LOCALHOST) -> bool:
    """True if nothing listens on host:port right now (bind test, SO_REUSEADDR like servers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def wait_port_free(port: int, timeout_s: float, what: str, host: str = LOCALHOST) -> None:
    """Wait until nothing listens on host:port; HarnessError naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not port_is_free(port, host):
        if time.monotonic() > deadline:
            raise HarnessError(f"{what} port {port} is still taken {timeout_s:.0f} s later")
        time.sleep(0.1)


def listen_socket(port: int = 0, host: str = LOCALHOST, backlog: int = 2048) -> socket.socket:
    """A listening TCP socket to hand to ``uvicorn --fd`` (the agent of the local stack).

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


def http_status(url: str, timeout_s: float = 2.0) -> int | None:
    """The HTTP status of ``GET url`` (no proxies from the environment), None if no answer."""
    try:
        with httpx.Client(trust_env=False, timeout=timeout_s) as client:
            return client.get(url).status_code
    except httpx.HTTPError:
        return None
