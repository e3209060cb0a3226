"""A raw-socket HTTP client for what httpx will not do: stream a huge body while reading the answer.

httpx sends the whole request before it reads the response, so against a server that answers
413 and closes mid-upload it reports a write error, not the status. Here a thread streams the
body while the caller reads the status line the server sends first.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

import psutil

MIB = 1024 * 1024


@dataclass(frozen=True)
class Upload:
    """What one oversized upload got: the status line's code and how much was sent."""

    status: int
    sent_bytes: int
    head: bytes  # status line and headers as received


def post_huge_body(
    url: str, path: str, total_bytes: int, *, chunked: bool, timeout_s: float = 30.0
) -> Upload:
    """POST ``total_bytes`` of ``x`` to ``url + path``, declared (Content-Length) or chunked.

    Returns as soon as the server's status line and headers arrived (or the connection ended:
    status 0); the upload stops when the server stops reading or closes.
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    sock = socket.create_connection((host, port), timeout=timeout_s)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total_bytes}"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: application/json\r\n{framing}\r\n\r\n"
    )
    sock.sendall(head.encode())
    sent = 0
    done = threading.Event()

    def pump() -> None:
        nonlocal sent
        block = b"x" * MIB
        frame = f"{len(block):x}\r\n".encode() + block + b"\r\n" if chunked else block
        try:
            while sent < total_bytes and not done.is_set():
                sock.sendall(frame)
                sent += len(block)
            if chunked and not done.is_set():
                sock.sendall(b"0\r\n\r\n")
        except OSError:  # the server answered and closed: the upload ends here
            return

    sender = threading.Thread(target=pump, daemon=True)
    sender.start()
    received = b""
    try:
        while b"\r\n\r\n" not in received:
            data = sock.recv(4096)
            if not data:
                break
            received += data
    except OSError:
        pass
    finally:
        done.set()
        with contextlib.suppress(OSError):  # already reset by the server
            sock.shutdown(socket.SHUT_RDWR)  # wakes the sender if it is blocked in sendall
        sender.join(timeout_s)
        sock.close()
    status_line = received.split(b"\r\n", 1)[0].split(b" ")
    status = int(status_line[1]) if len(status_line) > 1 and status_line[1].isdigit() else 0
    return Upload(status, sent, received.split(b"\r\n\r\n", 1)[0])


def rss_bytes(pid: int) -> int:
    """Resident set size of process ``pid``."""
    return int(psutil.Process(pid).memory_info().rss)
