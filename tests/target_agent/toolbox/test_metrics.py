"""``toolbox_calls_total{target,result}`` moves with the right labels, and only those."""

from __future__ import annotations

import json

import httpx
import pytest

from target_agent.toolbox.metrics import RESULTS
from target_agent.toolbox.targets import CALL_TARGETS
from tests.target_agent.toolbox.support import ADMIN, calls_total, set_fault

pytestmark = pytest.mark.anyio

SERVICE = {"service": "auth"}
PLANNER = {
    "messages": [{"role": "user", "content": json.dumps({"alert_type": "x", "service": "y"})}]
}


async def test_healthz_and_metrics_content_type(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    metrics = await client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")


async def test_series_exist_at_zero_with_bounded_labels(client: httpx.AsyncClient) -> None:
    counts = await calls_total(client)
    assert counts, "series are created before the first call"
    assert set(counts.values()) == {0.0}
    assert {target for target, _ in counts} == set(CALL_TARGETS)
    assert {result for _, result in counts} <= set(RESULTS)
    assert ("llm", "lie") not in counts and ("tool:get_logs", "hallucinate") not in counts


async def test_counters_move_with_the_right_labels(client: httpx.AsyncClient) -> None:
    before = await calls_total(client)
    await client.post("/tools/get_logs", json=SERVICE)
    await client.post("/v1/chat/completions", json=PLANNER)
    await set_fault(client, "tool:get_metrics", lie=True)
    await client.post("/tools/get_metrics", json=SERVICE)
    await set_fault(client, "tool:check_pods", error_rate=1)
    await client.post("/tools/check_pods", json=SERVICE)
    await set_fault(client, "llm", rate_limit_rps=0.1)
    await client.post("/v1/chat/completions", json=PLANNER)
    await client.post("/v1/chat/completions", json=PLANNER)
    await client.post("/tools/get_logs", json={"service": "unknown"})
    await client.post("/tools/unknown", json=SERVICE)
    await client.delete("/faults", headers=ADMIN)

    after = await calls_total(client)
    moved = {
        key: after[key] - before.get(key, 0.0)
        for key in after
        if after[key] != before.get(key, 0.0)
    }
    assert moved == {
        ("tool:get_logs", "ok"): 1,
        ("llm", "ok"): 2,
        ("tool:get_metrics", "lie"): 1,
        ("tool:check_pods", "error"): 1,
        ("llm", "rate_limited"): 1,
    }
