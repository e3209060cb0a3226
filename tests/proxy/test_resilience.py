"""Over time the proxy holds: idle pooled connections the upstream closed are not reused, a
stale connection is retried only when that is safe, an upstream that is down is a prompt 502
and is used again once back, and a client that leaves a long stream frees the upstream call.

Each test but the last runs its own upstream and proxy processes (free 127.0.0.1 ports)."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from stampede import procs
from tests.proxy.conftest import Running, put_fault, start_proxy, start_upstream
from tests.proxy.test_passthrough import metric
from tests.proxy.upstream import payload


@pytest.fixture
def own(tmp_path: Path) -> Iterator[Callable[..., Running]]:
    """Start processes for this test only (``own(start, ...)``); all stopped after it."""
    started: list[Running] = []

    def start(starter: Callable[..., Running], *args: object, **kwargs: object) -> Running:
        running = starter(*args, **kwargs)
        started.append(running)
        return running

    yield start
    for running in reversed(started):
        procs.stop(running.proc)


def proxy_to(tmp_path: Path, own: Callable[..., Running], name: str, url: str) -> Running:
    return own(start_proxy, tmp_path / "proxy.log", {name: url}, secrets.token_hex(8))


def calls(proxy: Running, n: int = 20) -> list[str]:
    """``n`` GETs and POSTs, 10 at a time, through the proxy; every failure as one line."""

    async def go() -> list[str]:
        limits = httpx.Limits(max_connections=10)
        async with httpx.AsyncClient(
            base_url=f"{proxy.url}/tools/raw", limits=limits, timeout=10, trust_env=False
        ) as client:
            answers = await asyncio.gather(
                *(
                    client.post("/echo", content=payload(i)) if i % 2 else client.get("/bytes/99")
                    for i in range(n)
                )
            )
        return [
            f"{a.request.method}: {a.status_code} {a.text[:200]}" for a in answers if a.is_error
        ]

    return asyncio.run(go())


def upstream_errors(proxy: Running) -> float:
    text = httpx.get(f"{proxy.url}/metrics", trust_env=False).text
    labels = {"upstream": "tool:raw", "result": "upstream_error"}
    return metric(text, "stampede_proxy_calls_total", labels)


def stats(upstream: Running) -> dict[str, int]:
    answer: dict[str, int] = httpx.get(f"{upstream.url}/stats", trust_env=False).json()
    return answer


@pytest.mark.parametrize(
    ("keep_alive", "idles"),
    [(None, (6.0,)), ("1", (6.0, 1.5))],
    ids=["uvicorn-default-5s", "upstream-closes-after-1s"],
)
def test_idle_connections_the_upstream_closed_are_not_reused(
    tmp_path: Path, own: Callable[..., Running], keep_alive: str | None, idles: tuple[float, ...]
) -> None:
    """Calls, idle (longer than the upstream keeps a connection), calls again: no error.

    1.5 s is past the upstream's 1 s but inside the proxy's own 4 s: the pooled connections
    are still in the pool, closed by the upstream, and must be seen closed, not used.
    """
    args = ("--timeout-keep-alive", keep_alive) if keep_alive else ()
    upstream = own(start_upstream, tmp_path / "upstream.log", *args)
    proxy = proxy_to(tmp_path, own, "tool:raw", upstream.url)
    assert calls(proxy) == []
    for idle in idles:
        opened = stats(upstream)["connections"]
        time.sleep(idle)
        assert calls(proxy) == [], f"after {idle} s idle"
        assert stats(upstream)["connections"] > opened, "the calls went on new connections"
    assert upstream_errors(proxy) == 0


def test_a_stale_connection_is_retried_only_when_that_is_safe(
    tmp_path: Path, own: Callable[..., Running]
) -> None:
    """Retried once: an idempotent call with no body or a whole one. Not retried: a POST (it
    may have been applied) or a body streamed from the client (it cannot be sent again)."""
    port = procs.free_port()
    command = procs.python_cmd("-m", "tests.proxy.stale_upstream", str(port))
    stale = Running(f"http://{procs.LOCALHOST}:{port}", procs.spawn(command, tmp_path / "s.log"))
    own(lambda: stale)
    procs.wait_http_ok(f"{stale.url}/count", stale.proc, what="stale upstream")
    proxy = proxy_to(tmp_path, own, "tool:raw", stale.url)
    with httpx.Client(base_url=f"{proxy.url}/tools/raw", timeout=10, trust_env=False) as client:
        assert client.get("/get").status_code == 200  # a new connection, then pooled
        assert client.get("/get").status_code == 200  # the pooled one fails: retried
        assert client.put("/put", content=b"x" * 100).status_code == 200  # likewise
        post = client.post("/post", content=b"{}")  # the pooled one fails: not retried
        assert client.get("/get").status_code == 200  # a new connection again
        streamed = client.put("/streamed", content=iter([b"x" * 70_000, b"y"]))
    assert post.status_code == 502
    assert post.json() == {
        "detail": f"upstream tool:raw ({stale.url}) closed the connection before answering "
        "(ServerDisconnectedError)"
    }
    assert streamed.status_code == 502
    seen = httpx.get(f"{stale.url}/count", trust_env=False).json()
    assert seen == {"GET /get": 4, "PUT /put": 2, "POST /post": 1, "PUT /streamed": 1}


def test_an_upstream_that_is_down_is_a_prompt_502_and_is_used_again_once_back(
    tmp_path: Path, own: Callable[..., Running]
) -> None:
    upstream = start_upstream(tmp_path / "up1.log")
    port = int(upstream.url.rsplit(":", 1)[1])
    proxy = proxy_to(tmp_path, own, "tool:raw", upstream.url)
    assert calls(proxy) == []
    procs.stop(upstream.proc)
    procs.wait_port_free(port, 10, "test upstream")
    with httpx.Client(base_url=f"{proxy.url}/tools/raw", timeout=10, trust_env=False) as client:
        for method in ("GET", "POST", "GET"):
            started = time.monotonic()
            down = client.request(method, "/echo", content=b"x")
            assert time.monotonic() - started < 1.0, "not a hang"
            assert down.status_code == 502
            detail = down.json()["detail"]
            assert detail.startswith(f"upstream tool:raw ({upstream.url}) cannot be reached: ")
            assert "ClientConnectorError" in detail
    own(start_upstream, tmp_path / "up2.log", port=port)
    assert calls(proxy) == []
    assert upstream_errors(proxy) == 3


@pytest.mark.parametrize("fault", [{}, {"stream_token_ms": 5}], ids=["passthrough", "shaped"])
def test_a_client_leaving_a_long_stream_frees_the_upstream_call(
    http: httpx.Client, proxy: Running, upstream: Running, fault: dict[str, object]
) -> None:
    """Ten clients read the first event of a stream whose next one is 30 s away, and leave:
    the upstream streams end, the proxy's calls, tasks and upstream connections come back,
    and the calls are counted as ``client_gone``."""
    if fault:
        put_fault(http, proxy, "tool:raw", **fault)
    gone = {"upstream": "tool:raw", "result": "client_gone"}

    def scrape() -> tuple[float, float]:
        text = http.get("/metrics").text
        in_flight = metric(text, "stampede_proxy_calls_in_flight", {"upstream": "tool:raw"})
        return in_flight, metric(text, "stampede_proxy_event_loop_tasks", {})

    _, tasks_before = scrape()
    gone_before = metric(http.get("/metrics").text, "stampede_proxy_calls_total", gone)

    async def read_first_events_and_leave() -> tuple[dict[str, int], tuple[float, float], int]:
        async with httpx.AsyncClient(base_url=proxy.url, timeout=10, trust_env=False) as client:
            streams = [
                client.stream("GET", "/tools/raw/sse", params={"n": 3, "gap_ms": 30_000})
                for _ in range(10)
            ]
            answers = [await stream.__aenter__() for stream in streams]
            # Kept referenced: a dropped line iterator, finalised, would close its stream early.
            lines = [answer.aiter_lines() for answer in answers]
            for line in lines:
                assert await anext(line) == 'data: {"i": 0}'
            during = stats(upstream), scrape(), upstream_sockets(proxy, upstream)
            for stream in streams:
                await stream.__aexit__(None, None, None)
        return during

    during_stats, during_scrape, during_sockets = asyncio.run(read_first_events_and_leave())
    assert (during_stats["streams_open"], during_scrape[0]) == (10, 10), (
        during_stats,
        during_scrape,
    )
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and stats(upstream)["streams_open"]:
        time.sleep(0.05)
    assert stats(upstream)["streams_open"] == 0, "the upstream streams were not cancelled"
    in_flight, tasks_after = scrape()
    assert in_flight == 0
    assert tasks_after <= tasks_before
    assert metric(http.get("/metrics").text, "stampede_proxy_calls_total", gone) == gone_before + 10
    assert upstream_sockets(proxy, upstream) <= during_sockets - 10


def upstream_sockets(proxy: Running, upstream: Running) -> int:
    """The proxy's established TCP connections to the upstream's port."""
    process = proxy.proc.process()
    assert process is not None
    port = int(upstream.url.rsplit(":", 1)[1])
    return sum(
        1
        for c in process.net_connections("tcp")
        if c.raddr and c.raddr.port == port and c.status == "ESTABLISHED"
    )
