"""Redis killed mid-traffic: answers continue, records wait in the write-behind buffer, and
after Redis returns every accepted investigation is found — in Redis itself."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import pytest
import redis

from stampede import procs
from tests.conftest import Server
from tests.target_agent.agent.support import (
    agent_settings,
    incidents,
    metric_value,
    running_agent,
)

pytestmark = pytest.mark.anyio


def start_durable_redis(port: int, data_dir: Path) -> procs.Proc:
    """Redis with an fsync-always AOF, so a restarted server still has what it acknowledged."""
    return procs.start_redis_server(
        port, data_dir, ("--appendonly", "yes", "--appendfsync", "always")
    )


async def test_redis_killed_mid_traffic_loses_no_accepted_investigation(
    toolbox: Server, tmp_path: Path
) -> None:
    port = procs.free_port()
    proc = start_durable_redis(port, tmp_path)
    url = f"redis://{procs.LOCALHOST}:{port}/0"
    accepted: list[str] = []
    statuses: list[int] = []
    alerts = [i.alert() for i in incidents()]
    try:
        async with running_agent(agent_settings(toolbox, url)) as (client, runtime):

            async def traffic(n: int) -> None:
                async def one(alert: dict[str, Any]) -> None:
                    response = await client.post("/investigate", json=alert)
                    statuses.append(response.status_code)
                    if response.status_code == 200:
                        accepted.append(response.json()["investigation_id"])

                await asyncio.gather(*(one(alerts[k % len(alerts)]) for k in range(n)))

            await traffic(8)
            before_outage = len(accepted)
            procs.stop(proc, sig=signal.SIGKILL)
            await traffic(16)
            depth = len(runtime.buffer)
            text = (await client.get("/metrics")).text
            assert depth >= 1
            assert metric_value(text, "agent_write_behind_depth") == depth
            assert metric_value(text, "agent_fallbacks_total", dependency="redis") >= 16
            during = await client.get(f"/investigations/{accepted[-1]}")
            assert during.status_code == 200  # from this worker's buffer
            assert (await client.get("/readyz")).status_code == 200  # never Redis

            proc = start_durable_redis(port, tmp_path)
            for _ in range(100):
                if not len(runtime.buffer):
                    break
                await asyncio.sleep(0.1)
            assert len(runtime.buffer) == 0, "write-behind buffer never drained"
            for investigation_id in accepted:
                found = await client.get(f"/investigations/{investigation_id}")
                assert found.status_code == 200, investigation_id
        assert statuses == [200] * 24
        assert before_outage == 8 and len(accepted) == 24
        direct = redis.Redis(host=procs.LOCALHOST, port=port)
        assert all(direct.exists(f"investigation:{i}") for i in accepted)
    finally:
        procs.stop(proc)


async def test_write_behind_full_sheds_instead_of_dropping(toolbox: Server, tmp_path: Path) -> None:
    """With Redis down and the buffer bound reached, new work is refused (503), none dropped."""
    dead_url = f"redis://{procs.LOCALHOST}:{procs.free_port()}/0"
    settings = agent_settings(toolbox, dead_url, write_behind_max=3, shutdown_flush_s=0.2)
    async with running_agent(settings) as (client, runtime):
        codes = [
            (await client.post("/investigate", json=incidents()[k].alert())).status_code
            for k in range(4)
        ]
        assert codes == [200, 200, 200, 503]
        assert len(runtime.buffer) == 3
        shed = await client.post("/investigate", json=incidents()[0].alert())
        assert "write-behind buffer full" in shed.json()["detail"]
        assert shed.headers["Retry-After"] == "1"
        assert (await client.get("/readyz")).status_code == 200  # Redis is shared: stay ready
