"""A tiny stand-in for someone else's agent (ASGI, no framework), shaped by environment variables.

``AGENT_READYZ``: ``ok`` (``/readyz`` answers 200), ``missing`` (404: no such route; ``/``
answers 200) or ``unready`` (503). ``AGENT_READY_AFTER_S``: ``/readyz`` answers 503 until that
many seconds after start-up. ``/metrics`` answers one Prometheus gauge, ``agent_in_flight 3``.
"""

from __future__ import annotations

import os
import time
from typing import Any

STARTED = time.monotonic()
METRICS = b"# TYPE agent_in_flight gauge\nagent_in_flight 3\n"


def _answer(path: str) -> tuple[int, bytes]:
    mode = os.environ.get("AGENT_READYZ", "ok")
    ready_after = float(os.environ.get("AGENT_READY_AFTER_S", "0"))
    if path == "/readyz":
        if mode == "missing":
            return 404, b"not found"
        if mode == "unready" or time.monotonic() - STARTED < ready_after:
            return 503, b"not ready"
        return 200, b"ready"
    if path == "/metrics":
        return 200, METRICS
    return 200, b"hello"


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    status, body = _answer(scope["path"])
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
