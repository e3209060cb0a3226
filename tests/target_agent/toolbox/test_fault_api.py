"""The fault API over HTTP, and every fault kind observed from the client's side."""

from __future__ import annotations

import asyncio
import json
import time

import anyio
import httpx
import pytest

from faults.api import BAD_TOKEN
from target_agent.toolbox.catalogue import by_service
from target_agent.toolbox.deps import NO_TOKEN
from tests.target_agent.toolbox.support import (
    ADMIN,
    make_settings,
    open_client,
    set_fault,
)

pytestmark = pytest.mark.anyio

SERVICE = {"service": "checkout"}


def planner_body(service: str = "checkout") -> dict[str, object]:
    incident = by_service(service)
    assert incident is not None
    return {
        "model": "m",
        "messages": [{"role": "user", "content": f"alert: {json.dumps(incident.alert())}"}],
    }


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "test-admin-token"}],
    ids=["no-header", "wrong-token", "no-bearer-scheme"],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/faults"), ("PUT", "/faults/llm"), ("DELETE", "/faults/llm"), ("DELETE", "/faults")],
    ids=["get", "put", "delete-one", "delete-all"],
)
async def test_fault_api_needs_the_token(
    client: httpx.AsyncClient, headers: dict[str, str], method: str, path: str
) -> None:
    response = await client.request(method, path, json={"error_rate": 1}, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"detail": BAD_TOKEN}
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert (await client.post("/v1/chat/completions", json=planner_body())).status_code == 200


async def test_fault_api_is_closed_without_a_configured_token() -> None:
    async with open_client(make_settings(admin_token="")) as client:
        for headers in ({}, {"Authorization": "Bearer "}, ADMIN):
            response = await client.get("/faults", headers=headers)
            assert response.status_code == 401
            assert response.json() == {"detail": NO_TOKEN}


async def test_put_get_delete(client: httpx.AsyncClient) -> None:
    before = time.time()
    put = await set_fault(client, "tool:get_logs", error_rate=0.25, error_status=503, ttl_s=30)
    body = put.json()
    assert body["target"] == "tool:get_logs"
    assert (body["error_rate"], body["error_status"], body["ttl_s"]) == (0.25, 503, 30)
    await set_fault(client, "llm", latency_ms=5)
    listed = (await client.get("/faults", headers=ADMIN)).json()["faults"]
    assert set(listed) == {"tool:get_logs", "llm"}
    assert before + 29 < listed["tool:get_logs"]["expires_at"] < time.time() + 31
    assert listed["tool:get_logs"]["retry_after_s"] == 1
    assert listed["llm"]["ttl_s"] == 60, "ttl_s defaults to 60"

    deleted = await client.delete("/faults/tool:get_logs", headers=ADMIN)
    assert deleted.json() == {"cleared": ["tool:get_logs"]}
    again = await client.delete("/faults/tool:get_logs", headers=ADMIN)
    assert (again.status_code, again.json()) == (200, {"cleared": []})
    await set_fault(client, "tools", lie=True)
    cleared = await client.delete("/faults", headers=ADMIN)
    assert cleared.json() == {"cleared": ["llm", "tools"]}
    assert (await client.get("/faults", headers=ADMIN)).json() == {"faults": {}}


async def test_fault_expires_and_stops_applying(client: httpx.AsyncClient) -> None:
    await set_fault(client, "tools", error_rate=1, ttl_s=1)
    assert (await client.post("/tools/get_logs", json=SERVICE)).status_code == 500
    await anyio.sleep(1.05)
    assert (await client.get("/faults", headers=ADMIN)).json() == {"faults": {}}
    assert (await client.post("/tools/get_logs", json=SERVICE)).status_code == 200


@pytest.mark.parametrize(
    ("target", "body", "status", "detail"),
    [
        ("tool:nope", {}, 404, "unknown fault target 'tool:nope'"),
        ("everything", {}, 404, "unknown fault target 'everything'"),
        ("llm", {"ttl_s": 901}, 422, "ttl_s 901 exceeds TOOLBOX_MAX_FAULT_TTL_S (900 s)"),
        ("llm", {"lie": True}, 422, "lie applies to tool targets"),
        ("tool:get_logs", {"hallucinate": True}, 422, "hallucinate applies to the llm target"),
    ],
    ids=["unknown-tool", "unknown-target", "ttl-above-max", "lie-on-llm", "hallucinate-on-tool"],
)
async def test_bad_target_or_spec_is_4xx_with_detail(
    client: httpx.AsyncClient, target: str, body: dict[str, object], status: int, detail: str
) -> None:
    response = await client.put(f"/faults/{target}", json=body, headers=ADMIN)
    assert response.status_code == status
    assert response.json()["detail"].startswith(detail)


@pytest.mark.parametrize(
    "content",
    [b"{", b"[]", b'{"error_rate": 2}', b'{"error_status": 302}', b'{"typo": 1}', b'"x"'],
    ids=["truncated", "list", "rate-above-1", "status-3xx", "unknown-field", "string"],
)
async def test_malformed_fault_body_is_422(client: httpx.AsyncClient, content: bytes) -> None:
    response = await client.put(
        "/faults/llm", content=content, headers={**ADMIN, "Content-Type": "application/json"}
    )
    assert response.status_code == 422


@pytest.mark.parametrize("status", [500, 502, 400, 404], ids=str)
async def test_error_rate_one_answers_the_given_status(
    client: httpx.AsyncClient, status: int
) -> None:
    await set_fault(client, "tools", error_rate=1.0, error_status=status)
    response = await client.post("/tools/check_pods", json=SERVICE)
    assert response.status_code == status
    assert response.json() == {"detail": f"injected error {status} on tools"}
    assert "Retry-After" not in response.headers


async def test_llm_errors_are_openai_shaped_with_retry_after(client: httpx.AsyncClient) -> None:
    await set_fault(client, "llm", error_rate=1.0, error_status=429, retry_after_s=3)
    response = await client.post("/v1/chat/completions", json=planner_body())
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("rate_limit_error", "rate_limit_exceeded")
    await set_fault(client, "llm", error_rate=1.0, error_status=503, retry_after_s=2)
    response = await client.post("/v1/chat/completions", json=planner_body())
    assert (response.status_code, response.headers["Retry-After"]) == (503, "2")
    assert response.json()["error"]["type"] == "server_error"


async def test_rate_limit_rejects_excess_calls_with_retry_after(
    client: httpx.AsyncClient,
) -> None:
    await set_fault(client, "tools", rate_limit_rps=0.2, retry_after_s=5)
    first = await client.post("/tools/get_logs", json=SERVICE)
    second = await client.post("/tools/get_metrics", json=SERVICE)
    assert first.status_code == 200
    assert second.status_code == 429, "a tools-wide limit is one bucket for all tools"
    assert second.headers["Retry-After"] == "5"
    assert second.json() == {"detail": "rate limit of 0.2 req/s exceeded on tools"}
    assert (await client.post("/v1/chat/completions", json=planner_body())).status_code == 200


async def test_rate_limit_admits_its_rate(client: httpx.AsyncClient) -> None:
    await set_fault(client, "llm", rate_limit_rps=20)
    statuses = [
        (await client.post("/v1/chat/completions", json=planner_body())).status_code
        for _ in range(30)
    ]
    assert statuses.count(200) >= 20, "the burst holds one second of tokens"
    assert 429 in statuses
    await anyio.sleep(0.2)
    assert (await client.post("/v1/chat/completions", json=planner_body())).status_code == 200


async def test_latency_delays_the_call(client: httpx.AsyncClient) -> None:
    await set_fault(client, "tool:get_logs", latency_ms=250, jitter_ms=50)
    started = time.monotonic()
    assert (await client.post("/tools/get_logs", json=SERVICE)).status_code == 200
    assert 0.25 <= time.monotonic() - started < 2.0
    started = time.monotonic()
    assert (await client.post("/tools/get_metrics", json=SERVICE)).status_code == 200
    assert time.monotonic() - started < 0.2, "other tools are not delayed"


async def test_tool_fault_overrides_tools_fault(client: httpx.AsyncClient) -> None:
    await set_fault(client, "tools", error_rate=1.0, error_status=500)
    await set_fault(client, "tool:get_logs", error_rate=0.0, lie=True)
    logs = await client.post("/tools/get_logs", json=SERVICE)
    assert logs.status_code == 200
    assert {f["supports"] for f in logs.json()["findings"]} == {"bad_deploy"}
    assert (await client.post("/tools/get_metrics", json=SERVICE)).status_code == 500


async def test_lie_returns_findings_supporting_the_decoy(client: httpx.AsyncClient) -> None:
    incident = by_service("payments")
    assert incident is not None
    await set_fault(client, "tool:get_deploys", lie=True)
    response = await client.post("/tools/get_deploys", json={"service": "payments"})
    body = response.json()
    assert response.status_code == 200
    assert body["data"] == incident.evidence["get_deploys"]["data"], "the data stays valid"
    assert {f["supports"] for f in body["findings"]} == {incident.decoy_cause}
    assert incident.decoy_cause != incident.root_cause


async def test_hang_holds_until_the_fault_is_cleared(client: httpx.AsyncClient) -> None:
    await set_fault(client, "tools", hang=True, ttl_s=60)
    call = asyncio.ensure_future(client.post("/tools/get_logs", json=SERVICE))
    await anyio.sleep(0.3)
    assert not call.done(), "a hanging tool does not answer"
    await client.delete("/faults/tools", headers=ADMIN)
    with anyio.fail_after(2):
        response = await call
    assert response.status_code == 504
    assert response.json()["detail"].startswith("injected hang on tools ended after")


async def test_hang_is_bounded_by_the_ttl(client: httpx.AsyncClient) -> None:
    await set_fault(client, "llm", hang=True, ttl_s=1)
    started = time.monotonic()
    with anyio.fail_after(3):
        response = await client.post("/v1/chat/completions", json=planner_body())
    assert response.status_code == 504
    assert time.monotonic() - started >= 0.9


async def test_same_seed_gives_the_same_error_sequence() -> None:
    async def statuses(seed: int) -> list[int]:
        async with open_client(make_settings(seed=seed)) as client:
            await set_fault(client, "tools", error_rate=0.5, error_status=502)
            return [
                (await client.post("/tools/get_logs", json=SERVICE)).status_code for _ in range(30)
            ]

    first = await statuses(11)
    assert first == await statuses(11)
    assert set(first) == {200, 502}
