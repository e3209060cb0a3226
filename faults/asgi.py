"""Connection-level faults at the ASGI edge: reset a connection, cut a response, see a client go.

ASGI gives an application no socket. Under uvicorn (the server of the toolbox and the proxy) the
``receive`` callable is a method of the connection's request cycle, which holds the asyncio
transport: ``abort(receive)`` sets ``SO_LINGER`` to zero on its socket and aborts it, so the
peer gets a TCP RST (a reset) instead of an answer. Under another server (e.g. httpx's
``ASGITransport`` in tests) there is no transport to reach, and ``abort`` raises
``ConnectionResetError`` out of the application instead — never a fake answer.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

Receive = Callable[[], Awaitable[Any]]


def _transport(receive: Receive) -> Any:
    """The connection's transport (asyncio's or uvloop's, which is no ``asyncio.Transport``)."""
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if all(hasattr(transport, name) for name in ("abort", "close", "get_extra_info")):
        return transport
    return None


async def abort(receive: Receive, reason: str, rst: bool = True) -> None:
    """Drop the client's connection now (RST when ``rst``, else a plain close mid-answer)."""
    transport = _transport(receive)
    if transport is None:
        raise ConnectionResetError(f"{reason} (no server transport to abort)")
    sock = transport.get_extra_info("socket")
    if rst and sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    if rst:
        transport.abort()
    else:
        transport.close()
    # Let the server's protocol see the loss (connection_lost runs on the next loop turns), so
    # it does not try to answer on the dead connection when the application returns.
    for _ in range(3):
        await asyncio.sleep(0)


def connection_closed(receive: Receive) -> bool:
    """The client's connection is closed or closing (False when there is no transport to ask).

    Reads nothing from ``receive``: safe while another task is still reading the request body.
    Only meaningful before the answer is sent (a server closes the connection after answering
    a ``Connection: close`` request).
    """
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    is_closing = getattr(transport, "is_closing", None)
    return is_closing is not None and bool(is_closing())


def disconnect_probe(receive: Receive) -> Callable[[], Awaitable[bool]]:
    """An ``is_disconnected()`` for a raw ASGI call whose request body is no longer needed."""
    gone = False

    async def disconnected() -> bool:
        nonlocal gone
        if not gone:
            message: Any = {}
            with anyio.CancelScope() as scope:
                scope.cancel()
                message = await receive()
            gone = isinstance(message, dict) and message.get("type") == "http.disconnect"
        return gone

    return disconnected
