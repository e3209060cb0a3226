"""Forwarding one call to its upstream, with the fault in force applied; counted however it ends.

Per call: the pre-call faults (``faults.inject``: rate limits, hang, latency, reset, error) run
before anything is sent upstream; then the request goes out on the pooled aiohttp session of
``stampede.proxy.client`` (why aiohttp: see there), its body read by ``downstream`` (small
bodies in one piece, larger or chunked ones streamed as they come); and the answer goes back
through ``relay`` (pass-through, stream shaping or whole body).

Counting: every fault kind is counted as it is injected (``latency`` and ``hang`` when the wait
starts), and every call once, in a ``finally``, with its result — ``client_gone`` when the
client left before its answer (during an injected delay, say: the call is then not sent
upstream at all), ``proxy_error`` when the proxy itself failed. So the counters say what was
injected when, whether or not the client waited for the answer.

With no fault set, a call costs one store check (``FaultStore.effective`` returns at once on an
empty store), header filtering against a precomputed set, a string join for the URL, a look at
the connection before relaying and one metrics record.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import aiohttp
from yarl import URL

from faults.asgi import abort, disconnect_probe
from faults.inject import FaultInjector, InjectedFault, InjectedReset
from faults.store import ActiveFault, FaultStore
from stampede.proxy import client
from stampede.proxy.downstream import ClientGone, Downstream
from stampede.proxy.messages import Send, request_headers, send_error
from stampede.proxy.metrics import ProxyMetrics
from stampede.proxy.relay import CLIENT_GONE, relay
from stampede.proxy.upstreams import RouteError, Routes, Upstream

Receive = Callable[[], Awaitable[Any]]


@dataclass
class Proxy:
    """The proxy's runtime: routes, fault store and injector, metrics, the pooled session."""

    routes: Routes
    store: FaultStore
    injector: FaultInjector
    metrics: ProxyMetrics
    session: aiohttp.ClientSession


class Outcome:
    """What one call came to: its result and the answer-side fault kinds (for the metrics)."""

    __slots__ = ("kinds", "result")

    def __init__(self) -> None:
        self.result = CLIENT_GONE  # until a path that answers says otherwise
        self.kinds: list[str] = []


async def handle(
    proxy: Proxy, upstream: Upstream, rest: str, scope: dict[str, Any], receive: Receive, send: Send
) -> None:
    """Forward one call to ``upstream`` (``rest``: the path after the route prefix)."""
    try:
        url = upstream.url(rest, scope.get("query_string", b""))
    except RouteError as exc:  # refused, not proxied: not a call of the upstream's
        await send_error(send, upstream, exc.status, exc.message)
        return
    target, outcome = upstream.target, Outcome()
    in_flight = proxy.metrics.in_flight.labels(target)
    in_flight.inc()
    try:
        await forward(proxy, upstream, url, scope, Downstream(receive), send, outcome)
    except Exception:
        outcome.result = "proxy_error"
        raise
    finally:
        in_flight.dec()
        proxy.metrics.record(target, outcome.result, outcome.kinds)


async def inject(
    proxy: Proxy, upstream: Upstream, downstream: Downstream, send: Send, outcome: Outcome
) -> tuple[ActiveFault | None, bool]:
    """Apply the pre-call faults; (fault in force, answered already)."""
    target, started = upstream.target, time.monotonic()
    injected = partial(proxy.metrics.count_injected, target)
    try:
        fault = await proxy.injector.apply(target, disconnect_probe(downstream.receive), injected)
    except InjectedFault as exc:
        outcome.result = exc.result
        await send_error(send, upstream, exc.status, exc.message, exc.headers)
        return None, True
    except InjectedReset as exc:
        outcome.result = exc.result
        await abort(downstream.receive, str(exc))
        return None, True
    finally:
        proxy.metrics.delay.labels(target).observe(time.monotonic() - started)
    return fault, False


async def forward(
    proxy: Proxy,
    upstream: Upstream,
    url: URL,
    scope: dict[str, Any],
    downstream: Downstream,
    send: Send,
    outcome: Outcome,
) -> None:
    """The call itself: pre-call faults, the upstream request, the answer relayed."""
    fault = None
    if proxy.store.effective(upstream.target) is not None:
        fault, answered = await inject(proxy, upstream, downstream, send, outcome)
        if answered or downstream.has_left():  # left during the delay: nothing to forward
            return
    headers = request_headers(scope["headers"], upstream)
    # A fault that reads or reshapes the answer gets it decoded; pass-through gets raw bytes.
    decoded = fault is not None and (fault.spec.needs_body or fault.spec.shapes_stream)
    try:
        body = await downstream.body(scope)
        response = await client.send(proxy.session, scope["method"], url, headers, body, decoded)
    except ClientGone:
        return
    except client.UPSTREAM_ERRORS as exc:
        if downstream.gone:  # the client left while its body was being sent upstream
            return
        status = 504 if isinstance(exc, asyncio.TimeoutError) else 502
        message = f"upstream {upstream.target} ({upstream.base}) {client.describe(exc)}"
        await send_error(send, upstream, status, message)
        outcome.result = "upstream_error"
        return
    try:
        if downstream.has_left():  # left while the upstream answered: nobody to relay to
            return
        outcome.result, outcome.kinds = await relay(
            proxy.injector, upstream, fault, response, downstream, send, decoded
        )
    finally:
        response.release()
