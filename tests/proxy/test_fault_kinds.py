"""Each fault kind, set on the proxy and observed by a client, against real upstreams."""

from __future__ import annotations

import json
import socket
import statistics
import time
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest

from target_agent.toolbox.catalogue import by_service
from tests.proxy.conftest import Running, put_fault
from tests.proxy.test_passthrough import metric

SERVICE = {"service": "checkout"}


def planner() -> dict[str, Any]:
    incident = by_service("checkout")
    assert incident is not None
    return {"model": "m", "messages": [{"role": "user", "content": json.dumps(incident.alert())}]}


def reasoner(answer: str) -> dict[str, Any]:
    return {
        "model": "m",
        "messages": [
            *planner()["messages"],
            {"role": "tool", "tool_call_id": "c", "content": answer},
        ],
    }


def timed(http: httpx.Client, path: str, **kw: Any) -> tuple[float, httpx.Response]:
    started = time.monotonic()
    response = http.post(path, **kw)
    return time.monotonic() - started, response


@pytest.mark.parametrize(
    ("spec", "low", "high"),
    [
        ({"latency_ms": 200, "latency_dist": "fixed"}, 0.2, 0.35),
        ({"latency_ms": 100, "jitter_ms": 100}, 0.1, 0.35),
    ],
    ids=["fixed", "uniform"],
)
def test_latency(
    http: httpx.Client, proxy: Running, spec: dict[str, Any], low: float, high: float
) -> None:
    put_fault(http, proxy, "tool:get_logs", **spec)
    elapsed, response = timed(http, "/tools/get_logs", json=SERVICE)
    assert response.status_code == 200 and low <= elapsed < high
    fast, _ = timed(http, "/tools/raw/echo", content=b"x")
    assert fast < 0.1, "another upstream is not delayed"


def test_lognormal_latency_has_a_heavy_tail(http: httpx.Client, proxy: Running) -> None:
    put_fault(http, proxy, "tool:raw", latency_dist="lognormal", jitter_ms=10, jitter_sigma=1.5)
    delays = sorted(timed(http, "/tools/raw/echo", content=b"x")[0] for _ in range(40))
    median = statistics.median(delays)
    assert 0.004 < median < 0.04
    assert delays[-1] > 3 * median, delays


@pytest.mark.parametrize("status", [500, 502, 404], ids=str)
def test_error_rate_and_status(http: httpx.Client, proxy: Running, status: int) -> None:
    put_fault(http, proxy, "tool:get_logs", error_rate=1, error_status=status)
    response = http.post("/tools/get_logs", json=SERVICE)
    assert response.status_code == status
    assert response.json() == {"detail": f"injected error {status} on tool:get_logs"}
    assert "retry-after" not in response.headers


def test_partial_error_rate(http: httpx.Client, proxy: Running) -> None:
    put_fault(http, proxy, "tool:raw", error_rate=0.5, error_status=503)
    statuses = [http.get("/tools/raw/bytes/1").status_code for _ in range(40)]
    assert set(statuses) == {200, 503}


def test_429_with_retry_after_seconds_is_openai_shaped(http: httpx.Client, proxy: Running) -> None:
    put_fault(http, proxy, "llm", error_rate=1, error_status=429, retry_after_s=7)
    response = http.post("/llm/chat/completions", json=planner())
    assert (response.status_code, response.headers["retry-after"]) == (429, "7")
    assert response.json()["error"]["type"] == "rate_limit_error"


def test_503_with_retry_after_as_http_date(http: httpx.Client, proxy: Running) -> None:
    put_fault(
        http, proxy, "tool:raw", error_rate=1, error_status=503, retry_after_s=20,
        retry_after_format="http-date",
    )  # fmt: skip
    response = http.get("/tools/raw/bytes/1")
    assert response.status_code == 503
    when = parsedate_to_datetime(response.headers["retry-after"]).timestamp()
    assert time.time() + 18 < when < time.time() + 22


def test_rate_limit_in_requests_per_second(http: httpx.Client, proxy: Running) -> None:
    put_fault(http, proxy, "tool:raw", rate_limit_rps=5, retry_after_s=1)
    statuses = [http.get("/tools/raw/bytes/1").status_code for _ in range(12)]
    assert statuses[:5] == [200] * 5 and 429 in statuses[5:]
    time.sleep(0.25)
    assert http.get("/tools/raw/bytes/1").status_code == 200


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_rate_limit_in_tokens_per_minute(http: httpx.Client, proxy: Running, stream: bool) -> None:
    """10 tokens/min; a planner turn uses more than that: the next call is refused."""
    put_fault(http, proxy, "llm", rate_limit_tpm=10, retry_after_s=9)
    first = http.post("/llm/chat/completions", json={**planner(), "stream": stream})
    assert first.status_code == 200
    second = http.post("/llm/chat/completions", json=planner())
    assert (second.status_code, second.headers["retry-after"]) == (429, "9")
    assert second.json()["error"]["message"] == (
        "token rate limit of 10 tokens/min exceeded on llm"
    )


def test_hang_holds_until_the_ttl(http: httpx.Client, proxy: Running) -> None:
    put_fault(http, proxy, "tool:get_logs", hang=True, ttl_s=1)
    elapsed, response = timed(http, "/tools/get_logs", json=SERVICE)
    assert response.status_code == 504 and 0.9 <= elapsed < 3


def test_connection_reset(http: httpx.Client, proxy: Running) -> None:
    put_fault(http, proxy, "tool:get_logs", reset=True)
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        http.post("/tools/get_logs", json=SERVICE)
    assert http.get("/tools/raw/bytes/1").status_code == 200, "the proxy still serves"


@pytest.mark.parametrize("how", ["truncate", "malformed"])
def test_corrupt_json_body(http: httpx.Client, proxy: Running, how: str) -> None:
    put_fault(http, proxy, "tool:get_logs", corrupt_body=how)
    response = http.post("/tools/get_logs", json=SERVICE)
    assert response.status_code == 200
    assert int(response.headers["content-length"]) == len(response.content)
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_lying_tool_by_json_rules(http: httpx.Client, proxy: Running) -> None:
    honest = http.post("/tools/get_logs", json=SERVICE).json()
    rules = [
        {"path": "$.findings[*].supports", "value": "dns_misconfiguration", "op": "replace"},
        {"path": "$.data.lied", "value": True},
    ]
    put_fault(http, proxy, "tool:get_logs", json_rules=rules)
    lying = http.post("/tools/get_logs", json=SERVICE).json()
    assert {f["supports"] for f in lying["findings"]} == {"dns_misconfiguration"}
    assert lying["data"] == {**honest["data"], "lied": True}
    assert lying["service"] == honest["service"]


def test_hallucinating_model_by_content(http: httpx.Client, proxy: Running) -> None:
    verdict = '{"root_cause": "dns_misconfiguration", "cited_evidence": ["get_logs"]}'
    put_fault(http, proxy, "llm", llm_content=verdict)
    answer = http.post("/llm/chat/completions", json=reasoner('{"findings": []}')).json()
    assert answer["choices"][0]["message"]["content"] == verdict
    plan = http.post("/llm/chat/completions", json=planner()).json()
    assert plan["choices"][0]["message"]["tool_calls"], "tool-call turns keep their calls"


def test_hallucinating_model_by_tool_arguments(http: httpx.Client, proxy: Running) -> None:
    put_fault(
        http, proxy, "llm", llm_tool_arguments={"service": "billing"}, llm_tool_name="get_logs"
    )
    calls = http.post("/llm/chat/completions", json=planner()).json()["choices"][0]["message"]
    arguments = {c["function"]["name"]: c["function"]["arguments"] for c in calls["tool_calls"]}
    assert arguments["get_logs"] == '{"service": "billing"}'
    assert all(
        json.loads(a)["service"] == "checkout" for n, a in arguments.items() if n != "get_logs"
    )


def sse_events(response: httpx.Response) -> list[tuple[float, str]]:
    started = time.monotonic()
    return [
        (time.monotonic() - started, line[6:])
        for line in response.iter_lines()
        if line.startswith("data: ")
    ]


def test_stream_slow_first_token(http: httpx.Client, proxy: Running) -> None:
    put_fault(http, proxy, "llm", stream_first_token_ms=400)
    with http.stream("POST", "/llm/chat/completions", json={**planner(), "stream": True}) as r:
        events = sse_events(r)
    assert events[0][0] >= 0.35 and events[-1][1] == "[DONE]"
    assert events[-1][0] - events[0][0] < 0.3, "later events are not delayed"


def test_stream_slow_tokens(http: httpx.Client, proxy: Running) -> None:
    put_fault(http, proxy, "llm", stream_token_ms=40)
    with http.stream("POST", "/llm/chat/completions", json={**planner(), "stream": True}) as r:
        events = sse_events(r)
    assert events[-1][0] - events[0][0] >= 0.04 * (len(events) - 1) * 0.9


def test_stream_rewrite_of_tool_arguments(http: httpx.Client, proxy: Running) -> None:
    put_fault(http, proxy, "llm", llm_tool_arguments={"service": "billing"})
    with http.stream("POST", "/llm/chat/completions", json={**planner(), "stream": True}) as r:
        chunks = [json.loads(data) for _, data in sse_events(r) if data != "[DONE]"]
    arguments: dict[int, str] = {}
    for chunk in chunks:
        for choice in chunk["choices"]:
            for call in choice["delta"].get("tool_calls", []):
                index = call["index"]
                arguments[index] = arguments.get(index, "") + call["function"]["arguments"]
    assert arguments and set(arguments.values()) == {'{"service": "billing"}'}


def test_calls_the_client_left_during_a_latency_fault_are_counted(
    http: httpx.Client, proxy: Running, upstream: Running
) -> None:
    """Clients with a 0.3 s timeout against a 1.5 s delay (an agent's tool timeout): the
    latency is counted as it starts, the calls as ``client_gone`` once the delay is over, and
    none of them is sent upstream (nobody is left to answer)."""
    put_fault(http, proxy, "tool:raw", latency_ms=1500, latency_dist="fixed")
    before, requests = scrape_raw(http), requests_seen(upstream)
    with httpx.Client(base_url=proxy.url, timeout=0.3, trust_env=False) as impatient:
        for method, content in [("GET", None), ("POST", b'{"small": true}')]:
            with pytest.raises(httpx.ReadTimeout):
                impatient.request(method, "/tools/raw/echo", content=content)
    during = scrape_raw(http)
    assert during == (before[0] + 2, before[1], 2), "latency counted as the delay starts"
    assert settled(http) == (before[0] + 2, before[1] + 2, 0)
    assert requests_seen(upstream) == requests, "not forwarded: the clients had left"


@pytest.mark.parametrize("fault", [{}, {"latency_ms": 300}], ids=["no-fault", "latency"])
def test_a_client_that_leaves_while_sending_its_body_is_client_gone(
    http: httpx.Client, proxy: Running, fault: dict[str, Any]
) -> None:
    """100 kB of a 200 kB body, then the client closes its socket: the proxy, streaming the
    body upstream, sees the client leave (not an upstream error, no 502 to nobody)."""
    if fault:
        put_fault(http, proxy, "tool:raw", **fault)
    upstream_errors = {"upstream": "tool:raw", "result": "upstream_error"}
    before, errors = scrape_raw(http), metric(http.get("/metrics").text, CALLS, upstream_errors)
    host, port = proxy.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        head = "POST /tools/raw/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n"
        sock.sendall(head.encode() + b"x" * 100_000)
        time.sleep(0.1)
    after = settled(http)
    assert after[1:] == (before[1] + 1, 0)
    assert metric(http.get("/metrics").text, CALLS, upstream_errors) == errors


CALLS = "stampede_proxy_calls_total"


def scrape_raw(http: httpx.Client) -> tuple[float, float, float]:
    """tool:raw's (latency faults injected, client_gone calls, calls in flight)."""
    text = http.get("/metrics").text
    return (
        metric(
            text,
            "stampede_proxy_faults_injected_total",
            {"upstream": "tool:raw", "fault": "latency"},
        ),
        metric(text, CALLS, {"upstream": "tool:raw", "result": "client_gone"}),
        metric(text, "stampede_proxy_calls_in_flight", {"upstream": "tool:raw"}),
    )


def settled(http: httpx.Client) -> tuple[float, float, float]:
    """``scrape_raw`` once no call to tool:raw is in flight (at most 5 s)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and scrape_raw(http)[2]:
        time.sleep(0.1)
    return scrape_raw(http)


def requests_seen(upstream: Running) -> int:
    seen: int = httpx.get(f"{upstream.url}/stats", trust_env=False).json()["requests"]
    return seen
