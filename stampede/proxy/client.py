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
