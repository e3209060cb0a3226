"""Forwarding one call to its upstream, streaming both ways, with the fault in force applied.

Per call: the pre-call faults (``faults.inject``: rate limits, hang, latency, reset, error) run
before anything is sent upstream; then the request goes out on the pooled aiohttp session of
``stampede.proxy.client`` (why aiohttp: see there), small bodies in one piece, larger or
chunked ones streamed from ``receive``; and the answer comes back one of three ways:

* **pass-through** (no fault, or none that touches the answer): status, headers and the raw
  bytes as they arrive (``iter_any``), one ASGI message per upstream read — byte-identical,
  chunk timing kept, content encoding untouched;
* **stream shaping** (an SSE answer and a spec that ``shapes_stream``): ``faults.stream.shape``;
  a cut closes the client's connection mid-answer;
* **whole body** (a JSON answer and a spec that ``needs_body``): read, usage charged to the
  token budget, JSON rules / LLM rewrites / corruption applied to 2xx answers, re-sent with its
  new length.

Hop-by-hop headers are not forwarded; ``Host`` is the upstream's. With no fault set, a call
costs one store check (``FaultStore.effective`` returns at once on an empty store), header
filtering against a precomputed set, a string join for the URL and one metrics increment.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

from faults.asgi import abort, disconnect_probe
from faults.content import apply_rules, corrupt, rewrite_completion, usage_tokens
from faults.inject import FaultInjector, InjectedFault, InjectedReset
from faults.model import FaultSpec
from faults.store import ActiveFault, FaultStore
from faults.stream import StreamCut, StreamReport, shape
from stampede.proxy import client
from stampede.proxy.metrics import ProxyMetrics
from stampede.proxy.upstreams import RouteError, Routes, Upstream

Receive = Callable[[], Awaitable[Any]]
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
#: Request bodies up to this size (by Content-Length) are read in one piece, larger streamed.
SMALL_BODY = 65_536


@dataclass
class Proxy:
    """The proxy's runtime: routes, fault store and injector, metrics, the pooled session."""

    routes: Routes
    store: FaultStore
    injector: FaultInjector
    metrics: ProxyMetrics
    session: aiohttp.ClientSession


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
    """The upstream's headers for the client (lower-case names, as ASGI wants)."""
    raw = [(name.lower(), value) for name, value in response.raw_headers]
    drop = _dropped(raw, _REWRITTEN_DROP if rewritten else HOP_BY_HOP)
    return [(name, value) for name, value in raw if name not in drop]


async def send_body(send: Send, status: int, headers: Headers, body: bytes) -> None:
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
    headers = [(b"content-type", b"application/json")]
    headers += [(k.lower().encode(), v.encode()) for k, v in (extra or {}).items()]
    await send_body(send, status, headers, error_body(upstream, status, message))


async def _streamed(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionResetError("client disconnected while sending its body")
        if message.get("body"):
            yield message["body"]
        if not message.get("more_body", False):
            return


async def request_body(
    scope: dict[str, Any], receive: Receive
) -> bytes | AsyncIterator[bytes] | None:
    """The client's body: None without one, bytes when small and sized, else a stream."""
    length, chunked = None, False
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit():
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = True
    if length is None and not chunked:
        return None
    if length is None or length > SMALL_BODY:
        return _streamed(receive)
    return b"".join([chunk async for chunk in _streamed(receive)])


def pre_kinds(spec: FaultSpec) -> list[str]:
    return ["latency"] if spec.latency_ms > 0 or spec.jitter_ms > 0 else []


async def inject(
    proxy: Proxy, upstream: Upstream, receive: Receive, send: Send
) -> tuple[ActiveFault | None, bool]:
    """Apply the pre-call faults; (fault in force, answered already)."""
    if proxy.store.effective(upstream.target) is None:
        return None, False
    started = time.monotonic()
    target = upstream.target
    try:
        fault = await proxy.injector.apply(target, disconnect_probe(receive))
    except InjectedFault as exc:
        await send_error(send, upstream, exc.status, exc.message, exc.headers)
        proxy.metrics.record(target, exc.result, [exc.result])
        return None, True
    except InjectedReset as exc:
        await abort(receive, str(exc))
        proxy.metrics.record(target, exc.result, [exc.result])
        return None, True
    finally:
        proxy.metrics.delay.labels(target).observe(time.monotonic() - started)
    return fault, False


async def handle(
    proxy: Proxy, upstream: Upstream, rest: str, scope: dict[str, Any], receive: Receive, send: Send
) -> None:
    """Forward one call to ``upstream`` (``rest``: the path after the route prefix)."""
    in_flight = proxy.metrics.in_flight.labels(upstream.target)
    in_flight.inc()
    try:
        await forward(proxy, upstream, rest, scope, receive, send)
    finally:
        in_flight.dec()


async def forward(
    proxy: Proxy, upstream: Upstream, rest: str, scope: dict[str, Any], receive: Receive, send: Send
) -> None:
    """The call itself: pre-call faults, the upstream request, the answer relayed."""
    target = upstream.target
    fault, answered = await inject(proxy, upstream, receive, send)
    if answered:
        return
    try:
        url = upstream.url(rest, scope.get("query_string", b""))
    except RouteError as exc:
        await send_error(send, upstream, exc.status, exc.message)
        return
    headers = request_headers(scope["headers"], upstream)
    body = await request_body(scope, receive)
    # A fault that reads or reshapes the answer gets it decoded; pass-through gets raw bytes.
    decoded = fault is not None and (fault.spec.needs_body or fault.spec.shapes_stream)
    try:
        response = await client.send(proxy.session, scope["method"], url, headers, body, decoded)
    except client.UPSTREAM_ERRORS as exc:
        status = 504 if isinstance(exc, asyncio.TimeoutError) else 502
        message = f"upstream {target} ({upstream.base}) {client.describe(exc)}"
        await send_error(send, upstream, status, message)
        proxy.metrics.record(target, "upstream_error")
        return
    try:
        result, kinds = await relay(proxy, upstream, fault, response, receive, send, decoded)
    finally:
        response.release()
    if fault is not None:
        kinds = [*pre_kinds(fault.spec), *kinds]
    proxy.metrics.record(target, result, kinds)


async def relay(
    proxy: Proxy,
    upstream: Upstream,
    fault: ActiveFault | None,
    response: aiohttp.ClientResponse,
    receive: Receive,
    send: Send,
    decoded: bool = False,
) -> tuple[str, list[str]]:
    """Send the upstream's answer on, the way the fault needs; (result, fault kinds)."""
    sse = response.headers.get("content-type", "").startswith("text/event-stream")
    if fault is not None and sse and fault.spec.shapes_stream:
        return await shaped(proxy, fault, response, receive, send)
    if fault is not None and not sse and fault.spec.needs_body:
        return await whole(proxy, upstream, fault, response, send)
    # A decoded answer (a body fault on an SSE answer, say) no longer has its encoding.
    rewritten = decoded and "content-encoding" in response.headers
    return await passthrough(response, receive, send, rewritten), []


async def _watch(receive: Receive) -> None:
    """Return when the client disconnects (the request body is consumed already)."""
    while (await receive())["type"] != "http.disconnect":
        pass


def _left(watcher: asyncio.Future[None] | None) -> bool:
    """The client has disconnected (its watcher returned, not cancelled or failed)."""
    return (
        watcher is not None
        and watcher.done()
        and not watcher.cancelled()
        and (watcher.exception() is None)
    )


@contextmanager
def client_watch(
    receive: Receive, response: aiohttp.ClientResponse
) -> Iterator[asyncio.Future[None]]:
    """Watch for the client leaving; when it does, close ``response`` at once.

    Closing the upstream response wakes a read waiting on it (``ClientConnectionError``) and
    drops its pooled connection, so a client that leaves a long or silent stream frees the
    upstream call now, not at the upstream's next chunk. uvicorn's ``send`` after a disconnect
    is a silent no-op, so without this the copy would run to the end of the upstream answer.
    """
    watcher = asyncio.ensure_future(_watch(receive))

    def close_if_left(done: asyncio.Future[None]) -> None:
        if _left(done):
            response.close()

    watcher.add_done_callback(close_if_left)
    try:
        yield watcher
    finally:
        watcher.cancel()


async def passthrough(
    response: aiohttp.ClientResponse, receive: Receive, send: Send, rewritten: bool = False
) -> str:
    """Raw bytes as they arrive; an upstream that breaks off breaks the client's answer too.

    A sized answer is copied without a watcher (the cheap path: it ends on its length); any
    other (chunked, SSE) is copied under ``client_watch``, so a client that leaves mid-stream
    cancels the upstream read and frees its connection.
    """
    start = {"type": "http.response.start", "status": response.status}
    await send({**start, "headers": response_headers(response, rewritten)})
    if "content-length" in response.headers and not rewritten:
        return await _copy(response, receive, send, None)
    with client_watch(receive, response) as watcher:
        return await _copy(response, receive, send, watcher)


async def _copy(
    response: aiohttp.ClientResponse,
    receive: Receive,
    send: Send,
    watcher: asyncio.Future[None] | None,
) -> str:
    try:
        async for chunk in response.content.iter_any():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    except client.UPSTREAM_ERRORS as exc:
        if _left(watcher):
            return "ok"  # the client left; closing the upstream read is what raised
        await abort(receive, f"upstream broke off: {type(exc).__name__}", rst=False)
        return "upstream_error"
    if not _left(watcher):
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    return "ok"


async def shaped(
    proxy: Proxy,
    fault: ActiveFault,
    response: aiohttp.ClientResponse,
    receive: Receive,
    send: Send,
) -> tuple[str, list[str]]:
    """An SSE answer with the stream faults applied (decoded bytes, re-cut into events)."""
    spec, report = fault.spec, StreamReport()
    start = {"type": "http.response.start", "status": response.status}
    await send({**start, "headers": response_headers(response, rewritten=True)})
    kinds = ["stream_slow"] if spec.stream_first_token_ms or spec.stream_token_ms else []
    with client_watch(receive, response) as watcher:
        try:
            async for event in shape(response.content.iter_any(), spec, report):
                await send({"type": "http.response.body", "body": event, "more_body": True})
        except StreamCut as exc:
            await abort(receive, str(exc), rst=False)
            return "stream_cut", [*kinds, "stream_cut"]
        except client.UPSTREAM_ERRORS as exc:
            if _left(watcher):
                return "ok", kinds
            await abort(receive, f"upstream broke off: {type(exc).__name__}", rst=False)
            return "upstream_error", kinds
    await send({"type": "http.response.body", "body": b"", "more_body": False})
    proxy.injector.charge(fault, report.tokens)
    if report.result != "ok":
        kinds.append(report.result)
    return report.result, kinds


def rewrite_body(raw: bytes, upstream: Upstream, spec: FaultSpec) -> tuple[bytes, int, Any]:
    """(body, values changed, parsed JSON or None) after the JSON rules and LLM rewrites."""
    try:
        document = json.loads(raw)
    except ValueError:
        return raw, 0, None
    changed = 0
    if spec.json_rules:
        document, changed = apply_rules(document, spec.json_rules)
    if spec.rewrites_llm and upstream.is_llm:
        changed += rewrite_completion(document, spec)
    if changed:
        raw = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    return raw, changed, document


async def whole(
    proxy: Proxy,
    upstream: Upstream,
    fault: ActiveFault,
    response: aiohttp.ClientResponse,
    send: Send,
) -> tuple[str, list[str]]:
    """A JSON answer read whole, charged, rewritten or corrupted (2xx only), sent on."""
    spec = fault.spec
    raw = await response.read()
    result, kinds = "ok", []
    if 200 <= response.status < 300:
        raw, changed, document = rewrite_body(raw, upstream, spec)
        proxy.injector.charge(fault, usage_tokens(document))
        if changed:
            result, kinds = "rewritten", ["rewritten"]
        if spec.corrupt_body is not None:
            raw, result, kinds = corrupt(raw, spec.corrupt_body), "corrupt", [*kinds, "corrupt"]
    await send_body(send, response.status, response_headers(response, rewritten=True), raw)
    return result, kinds
