"""A tiny real upstream for the proxy tests: deterministic bytes, timed chunks and SSE, echo.

Run as ``uvicorn tests.proxy.upstream:app``. Every answer is a function of the request, so a
test can compare what came through the proxy with what the upstream sends directly.

``GET /stats`` counts what the upstream saw since start (or ``DELETE /stats``): ``connections``
accepted (distinct server-side connections that carried a request; the transport object is
reached through uvicorn's ``receive``, as ``faults.asgi`` does), ``requests``, and
``streams_open`` (``/sse`` and ``/chunks`` answers still being sent).

``POST /early-echo?early=1`` answers (status, headers, a first chunk) *before* reading the
request body, then reads it and ends the chunked answer with its length and sha256; without
``early`` it reads the body first. A raw ASGI app: nothing else reads its ``receive``.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import random
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


def payload(n: int) -> bytes:
    """``n`` pseudo-random bytes, the same for the same ``n``."""
    return random.Random(n).randbytes(n)


async def raw_bytes(request: Request) -> Response:
    return Response(payload(int(request.path_params["n"])), media_type="application/octet-stream")


class Stats:
    """What the upstream saw: connections (kept by identity), requests, open streams."""

    def __init__(self) -> None:
        self.transports: list[object] = []  # strong refs: an id is never reused while counted
        self.ids: set[int] = set()
        self.requests = 0
        self.streams_open = 0

    def reset(self) -> None:
        """Forget connections and requests (open streams are still open: they stay counted)."""
        self.transports.clear()
        self.ids.clear()
        self.requests = 0

    def saw(self, receive: Any) -> None:
        transport = getattr(getattr(receive, "__self__", None), "transport", None)
        if transport is None:
            raise RuntimeError("no uvicorn transport behind receive: cannot count connections")
        self.requests += 1
        if id(transport) not in self.ids:
            self.ids.add(id(transport))
            self.transports.append(transport)

    def as_dict(self) -> dict[str, int]:
        return {
            "connections": len(self.ids),
            "requests": self.requests,
            "streams_open": self.streams_open,
        }


STATS = Stats()


async def _timed(n: int, gap_s: float, piece: bytes | None) -> AsyncIterator[bytes]:
    STATS.streams_open += 1
    try:
        for index in range(n):
            if index:
                await asyncio.sleep(gap_s)
            yield piece if piece is not None else f'data: {{"i": {index}}}\n\n'.encode()
    finally:
        STATS.streams_open -= 1


async def chunks(request: Request) -> StreamingResponse:
    n, gap = int(request.query_params["n"]), float(request.query_params["gap_ms"]) / 1000
    piece = payload(int(request.query_params.get("size", "1000")))
    return StreamingResponse(_timed(n, gap, piece), media_type="application/octet-stream")


async def sse(request: Request) -> StreamingResponse:
    n, gap = int(request.query_params["n"]), float(request.query_params["gap_ms"]) / 1000
    return StreamingResponse(_timed(n, gap, None), media_type="text/event-stream")


async def echo(request: Request) -> JSONResponse:
    body = await request.body()
    return JSONResponse(
        {
            "sha256": hashlib.sha256(body).hexdigest(),
            "length": len(body),
            "path": request.url.path,
            "query": request.url.query,
            "headers": {k: v for k, v in request.headers.items()},
        }
    )


async def findings(request: Request) -> JSONResponse:
    return JSONResponse({"tool": "raw", "findings": [{"supports": "db"}, {"supports": "db"}]})


async def gzipped(request: Request) -> Response:
    body = gzip.compress(json.dumps({"big": "x" * 5000}).encode(), mtime=0)
    return Response(body, media_type="application/json", headers={"Content-Encoding": "gzip"})


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def stats(request: Request) -> JSONResponse:
    if request.method == "DELETE":
        STATS.reset()
    return JSONResponse(STATS.as_dict())


async def early_echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The request body's length and sha256 in a chunked answer, started early or late."""
    early = b"early=1" in scope.get("query_string", b"")
    start = {"type": "http.response.start", "status": 200}
    start["headers"] = [(b"content-type", b"application/x-ndjson")]
    if early:
        await send(start)
        await send(
            {"type": "http.response.body", "body": b'{"started": true}\n', "more_body": True}
        )
    digest, length = hashlib.sha256(), 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        digest.update(message.get("body", b""))
        length += len(message.get("body", b""))
        if not message.get("more_body", False):
            break
    if not early:
        await send(start)
    answer = json.dumps({"length": length, "sha256": digest.hexdigest()}).encode()
    await send({"type": "http.response.body", "body": answer + b"\n", "more_body": False})


def counting(inner: Any) -> Any:
    """``inner`` with every HTTP request counted in ``STATS`` (but ``/stats``), and
    ``/early-echo``."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] != "/stats":
            STATS.saw(receive)
        if scope["type"] == "http" and scope["path"] == "/early-echo":
            await early_echo(scope, receive, send)
            return
        await inner(scope, receive, send)

    return app


app = counting(
    Starlette(
        routes=[
            Route("/bytes/{n:int}", raw_bytes),
            Route("/chunks", chunks),
            Route("/sse", sse),
            Route("/echo", echo, methods=["GET", "POST", "PUT"]),
            Route("/echo/{rest:path}", echo, methods=["GET", "POST", "PUT"]),
            Route("/findings", findings, methods=["GET", "POST"]),
            Route("/gzip", gzipped),
            Route("/healthz", healthz),
            Route("/stats", stats, methods=["GET", "DELETE"]),
        ]
    )
)
