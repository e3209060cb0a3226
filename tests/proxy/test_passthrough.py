"""With no fault set the proxy is transparent: same bytes, same chunk timing, only configured
upstreams; the fault API needs the token and faults expire."""

from __future__ import annotations

import hashlib
import itertools
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.proxy.conftest import Running, put_fault
from tests.proxy.upstream import payload


@pytest.mark.parametrize("n", [0, 1, 70_000, 3_000_000], ids=["empty", "1B", "70kB", "3MB"])
def test_bodies_are_byte_identical(http: httpx.Client, upstream: Running, n: int) -> None:
    direct = httpx.get(f"{upstream.url}/bytes/{n}", trust_env=False)
    proxied = http.get(f"/tools/raw/bytes/{n}")
    assert proxied.status_code == direct.status_code == 200
    assert proxied.content == direct.content == payload(n)
    assert proxied.headers["content-type"] == direct.headers["content-type"]


def test_content_encoding_passes_untouched(http: httpx.Client, upstream: Running) -> None:
    with http.stream("GET", "/tools/raw/gzip") as proxied:
        raw = b"".join(proxied.iter_raw())
    with httpx.stream("GET", f"{upstream.url}/gzip", trust_env=False) as direct:
        expected = b"".join(direct.iter_raw())
    assert proxied.headers["content-encoding"] == "gzip"
    assert raw == expected and raw[:2] == b"\x1f\x8b"


def test_chunked_bodies_keep_their_timing(http: httpx.Client) -> None:
    """Five 1 kB chunks 150 ms apart arrive 150 ms apart (not buffered to the end)."""
    arrivals = []
    with http.stream("GET", "/tools/raw/chunks", params={"n": 5, "gap_ms": 150}) as response:
        for _ in response.iter_raw():
            arrivals.append(time.monotonic())
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert len(arrivals) == 5, "one read per upstream chunk"
    assert all(0.12 < gap < 0.4 for gap in gaps), gaps


def test_sse_events_keep_their_timing(http: httpx.Client, upstream: Running) -> None:
    started = time.monotonic()
    seen: list[tuple[float, str]] = []
    with http.stream("GET", "/tools/raw/sse", params={"n": 4, "gap_ms": 200}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line:
                seen.append((time.monotonic() - started, line))
    direct = httpx.get(f"{upstream.url}/sse", params={"n": 4, "gap_ms": 0}, trust_env=False)
    assert [line for _, line in seen] == [line for line in direct.text.splitlines() if line]
    assert seen[0][0] < 0.15, "the first event is not held back"
    assert 0.55 < seen[-1][0] < 1.2


def test_request_bodies_stream_through_intact(http: httpx.Client) -> None:
    body = payload(2_000_000)

    def pieces() -> Iterator[bytes]:
        for at in range(0, len(body), 65_536):
            yield body[at : at + 65_536]

    chunked = http.post("/tools/raw/echo", content=pieces()).json()
    sized = http.post("/tools/raw/echo?x=1&y=%20", content=body[:1000]).json()
    assert (chunked["length"], chunked["sha256"]) == (len(body), hashlib.sha256(body).hexdigest())
    assert sized["length"] == 1000 and sized["query"] == "x=1&y=%20"


@pytest.mark.parametrize("sized", [False, True], ids=["chunked", "sized"])
@pytest.mark.parametrize("early", [True, False], ids=["answered-early", "answered-late"])
def test_a_streamed_request_body_arrives_intact_however_early_the_upstream_answers(
    http: httpx.Client, early: bool, sized: bool
) -> None:
    """4 MB sent in 64 kB pieces to an upstream whose chunked answer starts before it reads
    the body (or after): the proxy watches for the client leaving only once the body is sent,
    so no piece is taken from the body by that watch."""
    body = payload(4_000_000)
    pieces = [body[at : at + 65_536] for at in range(0, len(body), 65_536)]
    content: bytes | Iterator[bytes] = body if sized else iter(pieces)
    for _ in range(3):
        answer = http.post("/tools/raw/early-echo", params={"early": int(early)}, content=content)
        lines = [json.loads(line) for line in answer.text.splitlines()]
        assert answer.status_code == 200
        assert lines[-1] == {"length": len(body), "sha256": hashlib.sha256(body).hexdigest()}
        assert lines[:-1] == ([{"started": True}] if early else [])
        content = body if sized else iter(pieces)


def test_host_is_the_upstreams_and_hop_by_hop_headers_stay(
    http: httpx.Client, upstream: Running
) -> None:
    sent = {"Connection": "keep-alive, X-Hop", "X-Hop": "1", "X-Kept": "2", "TE": "trailers"}
    echoed = http.post("/tools/raw/echo/deeper", content=b"x", headers=sent).json()
    assert echoed["path"] == "/echo/deeper"
    assert echoed["headers"]["host"] == upstream.url.removeprefix("http://")
    assert echoed["headers"]["x-kept"] == "2"
    assert "x-hop" not in echoed["headers"] and "te" not in echoed["headers"]


@pytest.mark.parametrize(
    ("path", "status", "detail"),
    [
        ("/tools/nope/x", 404, "no upstream tool:nope configured (configured: llm, tool:get_logs"),
        ("/tools/raw/../../etc/passwd", 400, "path segments '.' and '..' are not forwarded"),
        ("/tools/raw/a/%2e%2e/b", 400, "path segments '.' and '..' are not forwarded"),
        ("/elsewhere", 404, "Not Found"),
        ("/http://example.com/", 404, "Not Found"),
    ],
    ids=["unconfigured-tool", "dot-dot", "encoded-dot-dot", "unrouted", "absolute-url"],
)
def test_only_configured_upstreams_are_reachable(
    proxy: Running, path: str, status: int, detail: str
) -> None:
    got_status, body = raw_get(proxy.url, path)
    assert got_status == status
    assert json.loads(body)["detail"].startswith(detail)


def raw_get(url: str, path: str) -> tuple[int, bytes]:
    """``GET path`` sent as is (an HTTP client would normalise ``..`` away first)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := sock.recv(65_536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "wrong"}],
    ids=["none", "wrong-token", "no-scheme"],
)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_fault_api_needs_the_token(
    http: httpx.Client, method: str, headers: dict[str, str]
) -> None:
    path = "/faults" if method == "GET" else "/faults/llm"
    response = http.request(method, path, json={"error_rate": 1}, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"detail": "missing or invalid bearer token"}
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_targets_and_unsupported_fields(http: httpx.Client, proxy: Running) -> None:
    unknown = http.put("/faults/tool:nope", json={}, headers=proxy.admin)
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == (
        "unknown fault target 'tool:nope': expected one of llm, tools, tool:get_logs, tool:raw"
    )
    lie = http.put("/faults/tools", json={"lie": True}, headers=proxy.admin)
    assert lie.status_code == 422 and lie.json()["detail"].startswith("lie is not supported")
    assert http.put("/faults/llm", json={"ttl_s": 61}, headers=proxy.admin).status_code == 422
    assert http.put("/faults/llm", json={"latency_ms": -1}, headers=proxy.admin).status_code == 422


def test_a_fault_expires_on_its_ttl(http: httpx.Client, proxy: Running) -> None:
    put_fault(http, proxy, "tool:raw", error_rate=1, error_status=502, ttl_s=1)
    assert http.get("/tools/raw/bytes/1").status_code == 502
    assert set(http.get("/faults", headers=proxy.admin).json()["faults"]) == {"tool:raw"}
    time.sleep(1.05)
    assert http.get("/faults", headers=proxy.admin).json() == {"faults": {}}
    assert http.get("/tools/raw/bytes/1").status_code == 200


def metric(text: str, name: str, labels: dict[str, str]) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    raise AssertionError(f"no sample {name}{labels}")


def test_metrics_count_calls_faults_and_active_targets(http: httpx.Client, proxy: Running) -> None:
    def scrape() -> str:
        return http.get("/metrics").text

    calls = {"upstream": "tool:raw", "result": "error"}
    before = metric(scrape(), "stampede_proxy_calls_total", calls)
    assert metric(scrape(), "stampede_proxy_fault_active", {"target": "tool:raw"}) == 0
    put_fault(http, proxy, "tool:raw", error_rate=1, latency_ms=20)
    http.get("/tools/raw/bytes/1")
    text = scrape()
    assert metric(text, "stampede_proxy_calls_total", calls) == before + 1
    injected = {"upstream": "tool:raw", "fault": "error"}
    assert metric(text, "stampede_proxy_faults_injected_total", injected) >= 1
    assert metric(text, "stampede_proxy_fault_active", {"target": "tool:raw"}) == 1
    delay = metric(text, "stampede_proxy_added_delay_seconds_sum", {"upstream": "tool:raw"})
    assert delay >= 0.02
    assert proxy.admin_token not in text


def test_the_admin_token_is_never_logged_nor_on_the_command_line(
    http: httpx.Client, proxy: Running
) -> None:
    live = proxy.proc.process()
    assert live is not None and "proxy" in live.cmdline()
    assert proxy.admin_token not in " ".join(live.cmdline())
    put_fault(http, proxy, "llm", latency_ms=1)
    http.get("/faults", headers={"Authorization": "Bearer not-the-token"})
    http.delete("/faults", headers=proxy.admin)
    log = Path(proxy.proc.log).read_text()
    assert "fault set on llm" in log or "proxy ready" in log
    assert proxy.admin_token not in log
