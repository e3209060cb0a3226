"""At load the proxy adds no errors, changes no byte, pools its upstream connections and does
not grow: 2,000 mixed calls from 50 concurrent clients through the real proxy process to the
real test upstream, each answer compared with what the upstream sends directly."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass

import httpx

from tests.proxy.conftest import Running
from tests.proxy.test_passthrough import metric
from tests.proxy.upstream import payload

CLIENTS = 50
CALLS = 2_000
WARM_UP = 300
#: RSS the proxy may gain over 2,000 calls after a warm-up (allocator arenas, pool, caches).
RSS_BOUND_MB = 10.0
SIZES = (0, 100, 4_096, 70_000, 300_000)


@dataclass(frozen=True)
class Call:
    """One proxied call of the mix, and what its answer must be (bytes, or an echo digest)."""

    method: str
    path: str
    body: bytes = b""


def mix(n: int) -> list[Call]:
    """``n`` calls: sized bodies, chunked bodies, SSE, and POSTs echoed back (their digest)."""
    calls = []
    for index in range(n):
        kind = index % 4
        if kind == 0:
            calls.append(Call("GET", f"/bytes/{SIZES[index % len(SIZES)]}"))
        elif kind == 1:
            calls.append(Call("POST", "/echo", payload(index % 9_000)))
        elif kind == 2:
            calls.append(Call("GET", "/sse?n=3&gap_ms=0"))
        else:
            calls.append(Call("GET", "/chunks?n=3&gap_ms=0&size=2000"))
    return calls


def expected_answers(upstream: Running, calls: list[Call]) -> dict[str, bytes]:
    """The direct answer of every distinct GET of ``calls`` (the echo is checked by digest)."""
    paths = sorted({call.path for call in calls if call.method == "GET"})
    with httpx.Client(base_url=upstream.url, trust_env=False, timeout=10) as direct:
        return {path: direct.get(path).content for path in paths}


async def run(proxy: Running, calls: list[Call], expected: dict[str, bytes]) -> list[str]:
    """Send ``calls`` with ``CLIENTS`` concurrent workers; every problem as one line."""
    queue: asyncio.Queue[Call] = asyncio.Queue()
    for call in calls:
        queue.put_nowait(call)
    problems: list[str] = []
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(
        base_url=f"{proxy.url}/tools/raw", limits=limits, timeout=30, trust_env=False
    ) as client:

        async def worker() -> None:
            while not queue.empty():
                call = queue.get_nowait()
                try:
                    answer = await client.request(call.method, call.path, content=call.body)
                except httpx.HTTPError as exc:
                    problems.append(f"{call.method} {call.path}: {type(exc).__name__}: {exc}")
                    continue
                problem = check(call, answer, expected)
                if problem:
                    problems.append(problem)

        await asyncio.gather(*(worker() for _ in range(CLIENTS)))
    return problems


def check(call: Call, answer: httpx.Response, expected: dict[str, bytes]) -> str | None:
    """None when ``answer`` is what the upstream gives directly, else what differs."""
    where = f"{call.method} {call.path}"
    if answer.status_code != 200:
        return f"{where}: status {answer.status_code}: {answer.text[:200]}"
    if call.method == "POST":
        echoed = answer.json()
        digest = hashlib.sha256(call.body).hexdigest()
        if (echoed["length"], echoed["sha256"]) != (len(call.body), digest):
            return f"{where}: the upstream got {echoed['length']} other bytes"
        return None
    if answer.content != expected[call.path]:
        return f"{where}: {len(answer.content)} bytes differ from the direct answer"
    return None


def rss_mb(proxy: Running) -> float:
    process = proxy.proc.process()
    assert process is not None, "the proxy is not running"
    return float(process.memory_info().rss) / 2**20


def upstream_sockets(proxy: Running, upstream: Running) -> int:
    """The proxy's TCP connections to the upstream's port, in any state but closed."""
    process = proxy.proc.process()
    assert process is not None
    port = int(upstream.url.rsplit(":", 1)[1])
    return sum(1 for c in process.net_connections("tcp") if c.raddr and c.raddr.port == port)


def test_2000_calls_from_50_clients_add_no_error_nor_change_a_byte(
    http: httpx.Client, proxy: Running, upstream: Running
) -> None:
    calls = mix(CALLS)
    expected = expected_answers(upstream, calls)
    before = http.get("/metrics").text
    assert asyncio.run(run(proxy, mix(WARM_UP), expected)) == []
    httpx.delete(f"{upstream.url}/stats", trust_env=False)
    rss_before = rss_mb(proxy)

    problems = asyncio.run(run(proxy, calls, expected))

    rss_after = rss_mb(proxy)
    stats = httpx.get(f"{upstream.url}/stats", trust_env=False).json()
    after = http.get("/metrics").text
    assert problems == [], f"{len(problems)} failed calls, e.g. {problems[:5]}"
    assert stats["requests"] == CALLS, stats
    # Pooled: never more upstream connections than calls in flight at once, over all 2,000.
    assert 1 <= stats["connections"] <= CLIENTS, stats
    assert upstream_sockets(proxy, upstream) <= CLIENTS
    assert rss_after - rss_before < RSS_BOUND_MB, (rss_before, rss_after)

    def count(text: str, result: str) -> float:
        return metric(
            text, "stampede_proxy_calls_total", {"upstream": "tool:raw", "result": result}
        )

    assert count(after, "ok") - count(before, "ok") == CALLS + WARM_UP
    assert count(after, "upstream_error") == count(before, "upstream_error")
    assert metric(after, "stampede_proxy_calls_in_flight", {"upstream": "tool:raw"}) == 0
    print(
        f"\n{CALLS} calls, {CLIENTS} clients: upstream connections {stats['connections']}, "
        f"proxy RSS {rss_before:.1f} -> {rss_after:.1f} MB"
    )


def test_the_load_mix_is_checked_for_real() -> None:
    """``check`` catches a wrong status, a wrong byte and a wrong echo (the test can fail)."""
    get, post = Call("GET", "/bytes/4"), Call("POST", "/echo", b"abc")
    good = {"/bytes/4": payload(4)}
    request = httpx.Request("GET", "http://x")
    assert check(get, httpx.Response(200, content=payload(4), request=request), good) is None
    assert "status 502" in str(check(get, httpx.Response(502, request=request), good))
    assert "differ" in str(check(get, httpx.Response(200, content=b"xxxx", request=request), good))
    wrong = {"length": 3, "sha256": "0" * 64}
    assert "other bytes" in str(check(post, httpx.Response(200, json=wrong, request=request), good))
