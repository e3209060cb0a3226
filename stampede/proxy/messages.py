"""HTTP messages at the proxy's edges: hop-by-hop headers dropped, whole bodies and errors sent.

Hop-by-hop headers (RFC 9110 section 7.6.1: ``Connection`` and those it names, ``Keep-Alive``,
``TE``, ``Trailer``, ``Transfer-Encoding``, ``Upgrade``, ``Proxy-*``) are not forwarded either
way; ``Host`` is the upstream's. An error the proxy answers itself is in the upstream's
language: OpenAI's error shape for the LLM, FastAPI's ``{"detail": ...}`` for tools.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from stampede.proxy.upstreams import Upstream

Send = Callable[[dict[str, Any]], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
    }
)
_REQUEST_DROP = HOP_BY_HOP | {b"host"}
_REWRITTEN_DROP = HOP_BY_HOP | {b"content-length", b"content-encoding"}


def _dropped(headers: Headers, base: frozenset[bytes]) -> frozenset[bytes]:
    """``base`` plus the headers a ``Connection`` header names (lower-case ``headers``)."""
    named = [value for name, value in headers if name == b"connection"]
    if not named:
        return base
    tokens = {token.strip().lower() for value in named for token in value.split(b",")}
    return base | tokens


def request_headers(headers: Headers, upstream: Upstream) -> list[tuple[str, str]]:
    """The client's headers (ASGI: lower-case) minus hop-by-hop ones, with the upstream's Host."""
    drop = _dropped(headers, _REQUEST_DROP)
    kept = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in headers if n not in drop]
    return [("host", upstream.host_header), *kept]


def response_headers(response: aiohttp.ClientResponse, rewritten: bool = False) -> Headers:
    """The upstream's headers for the client (lower-case names, as ASGI wants).

    ``rewritten``: the body sent on is not the upstream's bytes (decoded, reshaped or re-sized),
    so its ``Content-Length`` and ``Content-Encoding`` are dropped too.
    """
    raw = [(name.lower(), value) for name, value in response.raw_headers]
    drop = _dropped(raw, _REWRITTEN_DROP if rewritten else HOP_BY_HOP)
    return [(name, value) for name, value in raw if name not in drop]


async def send_body(send: Send, status: int, headers: Headers, body: bytes) -> None:
    """Send a whole answer: ``headers`` plus its ``Content-Length``, then ``body``."""
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def error_body(upstream: Upstream, status: int, message: str) -> bytes:
    """An error in the upstream's language: OpenAI's shape for the LLM, ``detail`` for tools."""
    if not upstream.is_llm:
        return json.dumps({"detail": message}).encode()
    if status == 429:
        kind, code = "rate_limit_error", "rate_limit_exceeded"
    elif status >= 500:
        kind, code = "server_error", f"http_{status}"
    else:
        kind, code = "invalid_request_error", f"http_{status}"
    error = {"message": message, "type": kind, "param": None, "code": code}
    return json.dumps({"error": error}).encode()


async def send_error(
    send: Send, upstream: Upstream, status: int, message: str, extra: dict[str, str] | None = None
) -> None:
    """Answer ``status`` with ``message`` in ``upstream``'s error shape (+ ``extra`` headers)."""
    headers = [(b"content-type", b"application/json")]
    headers += [(k.lower().encode(), v.encode()) for k, v in (extra or {}).items()]
    await send_body(send, status, headers, error_body(upstream, status, message))
