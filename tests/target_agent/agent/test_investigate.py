"""The agent against the real toolbox and Redis with no fault: answers, records, idempotency."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import Server
from tests.target_agent.agent.support import agent_settings, incidents, running_agent

pytestmark = pytest.mark.anyio

CONTRACT_FIELDS = {
    "investigation_id",
    "status",
    "root_cause",
    "suspected_root_cause",
    "evidence",
    "missing_evidence",
    "stale_evidence",
    "tokens",
    "cost_usd",
    "retries",
    "replica",
    "alert",
}


async def test_every_catalogue_incident_is_answered_complete_with_the_true_cause(
    toolbox: Server, shared_redis: Server
) -> None:
    """Every incident: 200, complete, the catalogue's root cause, tokens and cost accounted."""
    # Generous attempt timeouts: with no fault on, a busy CI machine must not cause retries.
    settings = agent_settings(toolbox, shared_redis.url, tool_timeout_s=2.0, llm_timeout_s=4.0)
    async with running_agent(settings) as (client, _):
        for incident in incidents():
            response = await client.post("/investigate", json=incident.alert())
            assert response.status_code == 200, response.text
            body = response.json()
            assert body.keys() >= CONTRACT_FIELDS
            assert (body["status"], body["root_cause"]) == ("complete", incident.root_cause), body
            assert body["suspected_root_cause"] == incident.root_cause
            assert body["missing_evidence"] == [] and body["stale_evidence"] == []
            assert sorted(body["evidence"]) == sorted(
                t for t in incident.evidence if t in body["evidence"]
            )
            assert len(body["evidence"]) == 3
            assert body["tokens"] > 0 and body["cost_usd"] > 0 and body["retries"] == 0
            assert body["replica"] == "test-replica"
            assert response.headers["X-Served-By"] == "test-replica"

            stored = await client.get(f"/investigations/{body['investigation_id']}")
            assert stored.status_code == 200
            assert stored.json() == body


async def test_unknown_service_is_degraded_not_an_error(
    toolbox: Server, shared_redis: Server
) -> None:
    """The tools answer 404 for an unknown service: every evidence missing, no claim, no LLM."""
    async with running_agent(agent_settings(toolbox, shared_redis.url)) as (client, _):
        response = await client.post(
            "/investigate", json={"alert_type": "high_latency", "service": "no-such-service"}
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "degraded" and body["root_cause"] is None
    assert body["missing_evidence"] == ["get_metrics", "get_logs", "get_deploys"]
    assert body["evidence"] == {}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"alert_type": "disk_full", "service": "checkout"}, "alert_type"),
        ({"service": "checkout"}, "alert_type"),
        ({"alert_type": "high_latency"}, "service"),
        ({"alert_type": "high_latency", "service": "check out!"}, "service"),
        ({"alert_type": "high_latency", "service": "checkout", "labels": {"a": 1}}, "labels"),
    ],
    ids=["unknown-alert-type", "no-alert-type", "no-service", "bad-service", "bad-labels"],
)
async def test_malformed_alert_is_422_naming_the_field(
    toolbox: Server, shared_redis: Server, body: dict[str, object], field: str
) -> None:
    async with running_agent(agent_settings(toolbox, shared_redis.url)) as (client, _):
        response = await client.post("/investigate", json=body)
    assert response.status_code == 422
    assert field in str(response.json()["detail"])


async def test_unknown_investigation_is_404(toolbox: Server, shared_redis: Server) -> None:
    async with running_agent(agent_settings(toolbox, shared_redis.url)) as (client, _):
        response = await client.get("/investigations/0123456789abcdef0123456789abcdef")
    assert response.status_code == 404
    assert response.json()["detail"] == "no investigation 0123456789abcdef0123456789abcdef"


async def test_same_idempotency_key_returns_the_same_investigation(
    toolbox: Server, shared_redis: Server
) -> None:
    """Sequential and concurrent repeats of a key get one investigation; another key a new one."""
    alert = incidents()[0].alert()
    async with running_agent(agent_settings(toolbox, shared_redis.url)) as (client, _):
        first = await client.post("/investigate", json=alert, headers={"Idempotency-Key": "k-1"})
        again = await client.post("/investigate", json=alert, headers={"Idempotency-Key": "k-1"})
        other = await client.post("/investigate", json=alert, headers={"Idempotency-Key": "k-2"})
        burst = await asyncio.gather(
            *(
                client.post("/investigate", json=alert, headers={"Idempotency-Key": "k-3"})
                for _ in range(5)
            )
        )
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other.json()["investigation_id"] != first.json()["investigation_id"]
    assert {r.status_code for r in burst} == {200}
    assert len({r.json()["investigation_id"] for r in burst}) == 1


async def test_health_and_readiness(toolbox: Server, shared_redis: Server) -> None:
    async with running_agent(agent_settings(toolbox, shared_redis.url)) as (client, runtime):
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/readyz")).json() == {"ready": True}
        runtime.lifecycle.start_draining()
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"ready": False, "reason": "draining"}


async def test_overload_is_shed_with_retry_after(toolbox: Server, shared_redis: Server) -> None:
    """Past AGENT_MAX_IN_FLIGHT the worker answers 503 + Retry-After and counts the shed."""
    from tests.target_agent.agent.support import metric_value, set_fault

    await set_fault(toolbox, "tools", latency_ms=400, ttl_s=30)
    settings = agent_settings(toolbox, shared_redis.url, max_in_flight=2, tool_timeout_s=1.0)
    alert = incidents()[0].alert()
    async with running_agent(settings) as (client, _):
        slow = [asyncio.create_task(client.post("/investigate", json=alert)) for _ in range(2)]
        await asyncio.sleep(0.15)
        ready = await client.get("/readyz")
        shed = await client.post("/investigate", json=alert)
        done = await asyncio.gather(*slow)
        text = (await client.get("/metrics")).text
    assert ready.status_code == 503 and "overloaded" in ready.json()["reason"]
    assert shed.status_code == 503
    assert shed.headers["Retry-After"] == "1"
    assert shed.json()["detail"].startswith("shed: overloaded")
    assert [r.status_code for r in done] == [200, 200]
    assert metric_value(text, "agent_shed_total") == 1
    assert metric_value(text, "agent_requests_total", outcome="shed") == 1
