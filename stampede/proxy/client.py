"""The proxy's upstream HTTP client: one pooled aiohttp session, bytes passed through untouched.

Why aiohttp here when the rest of the project uses httpx: the proxy's per-call CPU *is* its
added latency (issue 10: added p50 <= 1 ms), and under ``py-spy`` httpx's ``AsyncClient`` was
the largest part of it — its request/response models, cookie extraction, redirect/auth layers,
anyio cancel scopes around every socket operation, and two socket writes per request (headers,
then body). Measured in one process against the toolbox on this machine: ~0.7-0.85 ms CPU per
call with httpx, ~0.40-0.47 with a bare ``httpcore`` pool, ~0.20 with aiohttp (aio-libs; C HTTP
parser, headers and a small body in one write). See bench/README.md for the proxy figures.

The session is set up for a transparent proxy:

* ``auto_decompress=False``: pass-through bytes keep their content encoding (a fault that
  reads or reshapes the body asks for a decoded answer per request, ``decoded=True``);
* no cookie jar (``DummyCookieJar``): one caller's cookies never reach another's calls;
* no redirects followed, no proxies from the environment, no headers of its own (User-Agent,
  Accept, Accept-Encoding, Content-Type are the caller's or absent);
* keep-alive connections idle at most ``KEEPALIVE_S`` (below uvicorn's 5 s, so a pooled
  connection is not reused just as the upstream closes it).

Stale pooled connections (an upstream that closes idle connections sooner than ``KEEPALIVE_S``,
e.g. ``uvicorn --timeout-keep-alive 1``): a connection the upstream closed is seen closed when
it is taken from the pool and a new one is opened instead. In the remaining race (the upstream
closes it just as the request goes out) aiohttp retries **once, on another connection, only a
request that is safe to send again**: an idempotent method (GET, HEAD, OPTIONS, TRACE, PUT,
DELETE; RFC 9112 section 9.3.1.1), failing with a connection error before any byte of an answer,
and with a body that can be replayed (none, or one read whole; a streamed body already read from
the client is not). A POST (an LLM completion, a tool call) is never retried by the proxy: it
may have been applied, so the client gets the 502 and its own retry policy decides, as it
would talking to the upstream directly. A connect failure is not retried either (the upstream
is down: a 502 at once).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import aiohttp
from yarl import URL

#: What an upstream call can fail with (connection, protocol, payload errors and timeouts).
UPSTREAM_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError)
KEEPALIVE_S = 4.0
_NO_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")


def open_session(
    connect_timeout_s: float, read_timeout_s: float, max_connections: int
) -> aiohttp.ClientSession:
    """The pooled session (call inside the running event loop; close it with ``close()``)."""
    connector = aiohttp.TCPConnector(
        limit=max_connections, limit_per_host=0, keepalive_timeout=KEEPALIVE_S
    )
    timeout = aiohttp.ClientTimeout(
        total=None, connect=read_timeout_s, sock_connect=connect_timeout_s, sock_read=read_timeout_s
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
        skip_auto_headers=_NO_AUTO_HEADERS,
        trust_env=False,
    )


def describe(exc: BaseException) -> str:
    """What went wrong talking to an upstream, for the 502/504 body (``exc``: UPSTREAM_ERRORS)."""
    name = type(exc).__name__
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = exc.os_error.strerror or str(exc.os_error) or "connection failed"
        return f"cannot be reached: connecting failed ({reason.lower()}, {name})"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return f"closed the connection before answering ({name})"
    if isinstance(exc, asyncio.TimeoutError):
        return f"did not answer in time ({name})"
    if isinstance(exc, aiohttp.ClientOSError) and exc.strerror:
        return f"connection failed: {exc.strerror.lower()} ({name})"
    return f"failed: {name}"


async def send(
    session: aiohttp.ClientSession,
    method: str,
    url: URL,
    headers: Sequence[tuple[str, str]],
    body: bytes | AsyncIterator[bytes] | None,
    decoded: bool = False,
) -> aiohttp.ClientResponse:
    """Send one request; the response with its body not read yet (``release()`` it after)."""
    return await session.request(
        method,
        url,
        headers=headers,
        data=body,
        allow_redirects=False,
        auto_decompress=decoded,
    )
