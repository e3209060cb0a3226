"""A tiny real upstream for the proxy tests: deterministic bytes, timed chunks and SSE, echo.

Run as ``uvicorn tests.proxy.upstream:app``. Every answer is a function of the request, so a
test can compare what came through the proxy with what the upstream sends directly.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import random
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


def payload(n: int) -> bytes:
    """``n`` pseudo-random bytes, the same for the same ``n``."""
    return random.Random(n).randbytes(n)


async def raw_bytes(request: Request) -> Response:
    return Response(payload(int(request.path_params["n"])), media_type="application/octet-stream")


async def _timed(n: int, gap_s: float, piece: bytes | None) -> AsyncIterator[bytes]:
    for index in range(n):
        if index:
            await asyncio.sleep(gap_s)
        yield piece if piece is not None else f'data: {{"i": {index}}}\n\n'.encode()


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


app = Starlette(
    routes=[
        Route("/bytes/{n:int}", raw_bytes),
        Route("/chunks", chunks),
        Route("/sse", sse),
        Route("/echo", echo, methods=["GET", "POST", "PUT"]),
        Route("/echo/{rest:path}", echo, methods=["GET", "POST", "PUT"]),
        Route("/findings", findings, methods=["GET", "POST"]),
        Route("/gzip", gzipped),
        Route("/healthz", healthz),
    ]
)
