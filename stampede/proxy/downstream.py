"""The client's side of one proxied call: the one reader of its ASGI ``receive``.

ASGI delivers the request body and the client's disconnect on the same ``receive``, and two
tasks reading it at once take messages from each other: a disconnect watcher started while
aiohttp was still sending a streamed request body upstream (an upstream that answers before it
has read the whole body) took body chunks, and the upstream got a body with holes in it.
``Downstream`` reads ``receive`` one way at a time:

* ``body(scope)``: none, read whole (small and sized), or a stream aiohttp sends on as it
  comes; a disconnect on the way sets ``gone`` and raises ``ClientGone``;
* ``left()``: returns when the client disconnects — and starts reading only once a streamed
  body has been read to its end (or its reading stopped), so it never takes a body chunk;
* ``has_left()``: asks the connection itself (``faults.asgi.connection_closed``), reading
  nothing: what the proxy checks before it goes upstream after an injected delay and before it
  relays an answer.

``client_watch`` runs ``left()`` beside a streamed answer and closes the upstream response the
moment the client leaves. A streamed body whose upstream stops reading it is not watched (its
reading has not ended): such a call ends with the upstream's answer.

The exception: an injected hang polls ``faults.asgi.disconnect_probe``, which may read body
messages; a hung call never goes upstream, so its body is not needed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp

from faults.asgi import connection_closed

Receive = Callable[[], Awaitable[Any]]

log = logging.getLogger("stampede.proxy")

#: Request bodies up to this size (by Content-Length) are read in one piece, larger streamed.
SMALL_BODY = 65_536


class ClientGone(Exception):
    """The client disconnected before its call was answered."""


class Downstream:
    """The client of one call, seen through ``receive``; ``gone`` once it is known to have left."""

    __slots__ = ("_body_read", "gone", "receive")

    def __init__(self, receive: Receive) -> None:
        self.receive = receive
        self.gone = False
        # Set when a streamed body is read to its end or its reading stopped; None otherwise.
        self._body_read: asyncio.Event | None = None

    async def body(self, scope: dict[str, Any]) -> bytes | AsyncIterator[bytes] | None:
        """The request body: None without one, bytes when small and sized, else a stream."""
        length, chunked = None, False
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit():
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = True
        if length is None and not chunked:
            return None
        if length is None or length > SMALL_BODY:
            self._body_read = asyncio.Event()
            return self._chunks()
        return b"".join([chunk async for chunk in self._chunks()])

    async def _chunks(self) -> AsyncIterator[bytes]:
        try:
            while True:
                message = await self.receive()
                if message["type"] == "http.disconnect":
                    self.gone = True
                    raise ClientGone("the client disconnected while sending its body")
                if message.get("body"):
                    yield message["body"]
                if not message.get("more_body", False):
                    return
        finally:
            if self._body_read is not None:
                self._body_read.set()

    async def left(self) -> None:
        """Return when the client disconnects, reading nothing of an unread request body."""
        if self._body_read is not None:
            await self._body_read.wait()
        while not self.gone:
            if (await self.receive())["type"] == "http.disconnect":
                self.gone = True

    def has_left(self) -> bool:
        """The client is known to have gone (seen leaving, or its connection is closed)."""
        if not self.gone and connection_closed(self.receive):
            self.gone = True
        return self.gone


@contextmanager
def client_watch(downstream: Downstream, response: aiohttp.ClientResponse) -> Iterator[None]:
    """Watch for the client leaving; when it does, close ``response`` at once.

    Closing the upstream response wakes a read waiting on it (``ClientConnectionError``) and
    drops its pooled connection, so a client that leaves a long or silent stream frees the
    upstream call now, not at the upstream's next chunk. uvicorn's ``send`` after a disconnect
    is a silent no-op, so without this the copy would run to the end of the upstream answer.
    After the block, ``downstream.gone`` says whether the client left.
    """
    watcher = asyncio.ensure_future(downstream.left())

    def close_if_left(done: asyncio.Future[None]) -> None:
        if done.cancelled():
            return
        if (error := done.exception()) is not None:
            log.error("watching for the client leaving failed: %r", error)
        elif downstream.gone:
            response.close()

    watcher.add_done_callback(close_if_left)
    try:
        yield
    finally:
        watcher.cancel()
