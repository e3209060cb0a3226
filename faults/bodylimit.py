"""A request body limit enforced at the ASGI edge, before any framework parses the body.

``BodyLimit(app, max_bytes)`` answers ``413`` (``Connection: close``) when the declared
``Content-Length`` is over the budget — without reading a byte of the body — and otherwise
reads the body itself, message by message, counting bytes (chunked bodies included), and
stops reading with ``413`` the moment the count passes the budget. A body within the budget
is handed to the application whole, so at most ``max_bytes`` (plus the server's own read
buffer) is ever held for one request.

Why hand-written: Starlette and FastAPI have no body limit (uvicorn only bounds headers), and a
limit inside a route comes after the framework has read and parsed the whole body. The body is
read here, not in a ``receive`` wrapper that raises, because FastAPI turns any exception raised
while it reads a body into a ``400``.

The connection-fault helpers of :mod:`faults.asgi` reach the socket through
``receive.__self__.transport``: the replaying ``receive`` keeps that path, so a route behind
the limit can still reset its connection.

``max_bytes`` is an int or a callable returning one (read per request: an app whose settings
are only resolved in its lifespan passes a callable).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _Replay:
    """A ``receive`` that gives the buffered body once, then defers to the server's."""

    def __init__(self, body: bytes, receive: Receive) -> None:
        self._body: bytes | None = body
        self._receive = receive
        # faults.asgi finds the connection's transport through receive.__self__.transport
        self.transport = getattr(getattr(receive, "__self__", None), "transport", None)

    async def receive(self) -> Message:
        if self._body is not None:
            body, self._body = self._body, None
            return {"type": "http.request", "body": body, "more_body": False}
        return await self._receive()


def _declared_length(scope: Scope) -> int | None:
    """The request's Content-Length (None when absent); -1 when it is not a number."""
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else -1
    return None


async def _refuse(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """ASGI middleware: request bodies over ``max_bytes`` get 413 before the app sees them."""

    def __init__(self, app: ASGIApp, max_bytes: int | Callable[[], int]) -> None:
        self.app = app
        self._max_bytes = max_bytes

    def limit(self) -> int:
        """The budget in bytes for the next request."""
        return self._max_bytes() if callable(self._max_bytes) else self._max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit()
        declared = _declared_length(scope)
        if declared == -1:
            await _refuse(send, 400, "Content-Length is not a number")
            return
        if declared is not None and declared > limit:
            await _refuse(send, 413, f"request body of {declared} bytes is over {limit} bytes")
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: nothing to answer
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _refuse(send, 413, f"request body is over {limit} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replay = _Replay(b"".join(chunks), receive)
        await self.app(scope, replay.receive, send)
