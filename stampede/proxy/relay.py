"""Sending an upstream's answer on to the client, the way the fault in force needs.

One of three ways, each giving the call's ``(result, fault kinds)``:

* **pass-through** (no fault, or none that touches the answer): status, headers and the raw
  bytes as they arrive (``iter_any``), one ASGI message per upstream read — byte-identical,
  chunk timing kept, content encoding untouched;
* **stream shaping** (an SSE answer and a spec that ``shapes_stream``): ``faults.stream.shape``;
  a cut closes the client's connection mid-answer;
* **whole body** (a JSON answer and a spec that ``needs_body``): read, usage charged to the
  token budget, JSON rules / LLM rewrites / corruption applied to 2xx answers, re-sent with its
  new length.

A streamed answer (chunked, SSE) is copied under ``downstream.client_watch``: a client that
leaves mid-answer closes the upstream response at once, and the call's result is
``client_gone``. A sized pass-through answer is copied without a watcher (the cheap path: it
ends on its length).
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from faults.asgi import abort
from faults.content import apply_rules, corrupt, rewrite_completion, usage_tokens
from faults.inject import FaultInjector
from faults.model import FaultSpec
from faults.store import ActiveFault
from faults.stream import StreamCut, StreamReport, shape
from stampede.proxy import client
from stampede.proxy.downstream import Downstream, client_watch
from stampede.proxy.messages import Send, response_headers, send_body
from stampede.proxy.upstreams import Upstream

#: The result of a call whose client left before its answer was sent (or finished).
CLIENT_GONE = "client_gone"


async def relay(
    injector: FaultInjector,
    upstream: Upstream,
    fault: ActiveFault | None,
    response: aiohttp.ClientResponse,
    downstream: Downstream,
    send: Send,
    decoded: bool = False,
) -> tuple[str, list[str]]:
    """Send the upstream's answer on, the way the fault needs; (result, fault kinds)."""
    sse = response.headers.get("content-type", "").startswith("text/event-stream")
    if fault is not None and sse and fault.spec.shapes_stream:
        return await shaped(injector, fault, response, downstream, send)
    if fault is not None and not sse and fault.spec.needs_body:
        return await whole(injector, upstream, fault, response, send)
    # A decoded answer (a body fault on an SSE answer, say) no longer has its encoding.
    rewritten = decoded and "content-encoding" in response.headers
    return await passthrough(response, downstream, send, rewritten), []


async def _start(send: Send, response: aiohttp.ClientResponse, rewritten: bool) -> None:
    start = {"type": "http.response.start", "status": response.status}
    await send({**start, "headers": response_headers(response, rewritten)})


async def passthrough(
    response: aiohttp.ClientResponse, downstream: Downstream, send: Send, rewritten: bool = False
) -> str:
    """Raw bytes as they arrive; an upstream that breaks off breaks the client's answer too."""
    await _start(send, response, rewritten)
    if "content-length" in response.headers and not rewritten:
        return await _copy(response, downstream, send)
    with client_watch(downstream, response):
        return await _copy(response, downstream, send)


async def _copy(response: aiohttp.ClientResponse, downstream: Downstream, send: Send) -> str:
    try:
        async for chunk in response.content.iter_any():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    except client.UPSTREAM_ERRORS as exc:
        if downstream.gone:
            return CLIENT_GONE  # closing the upstream read for a client that left raised this
        await abort(downstream.receive, f"upstream broke off: {type(exc).__name__}", rst=False)
        return "upstream_error"
    if downstream.gone:
        return CLIENT_GONE
    await send({"type": "http.response.body", "body": b"", "more_body": False})
    return "ok"


async def shaped(
    injector: FaultInjector,
    fault: ActiveFault,
    response: aiohttp.ClientResponse,
    downstream: Downstream,
    send: Send,
) -> tuple[str, list[str]]:
    """An SSE answer with the stream faults applied (decoded bytes, re-cut into events)."""
    spec, report = fault.spec, StreamReport()
    await _start(send, response, rewritten=True)
    kinds = ["stream_slow"] if spec.stream_first_token_ms or spec.stream_token_ms else []
    with client_watch(downstream, response):
        try:
            async for event in shape(response.content.iter_any(), spec, report):
                await send({"type": "http.response.body", "body": event, "more_body": True})
        except StreamCut as exc:
            await abort(downstream.receive, str(exc), rst=False)
            return "stream_cut", [*kinds, "stream_cut"]
        except client.UPSTREAM_ERRORS as exc:
            if downstream.gone:
                return CLIENT_GONE, kinds
            await abort(downstream.receive, f"upstream broke off: {type(exc).__name__}", rst=False)
            return "upstream_error", kinds
    await send({"type": "http.response.body", "body": b"", "more_body": False})
    injector.charge(fault, report.tokens)
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
    injector: FaultInjector,
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
        injector.charge(fault, usage_tokens(document))
        if changed:
            result, kinds = "rewritten", ["rewritten"]
        if spec.corrupt_body is not None:
            raw, result, kinds = corrupt(raw, spec.corrupt_body), "corrupt", [*kinds, "corrupt"]
    await send_body(send, response.status, response_headers(response, rewritten=True), raw)
    return result, kinds
