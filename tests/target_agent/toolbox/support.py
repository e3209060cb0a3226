"""Helpers shared by the toolbox tests (fixtures live in conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from prometheus_client.parser import text_string_to_metric_families

from target_agent.toolbox.main import create_app
from target_agent.toolbox.settings import Settings

TOKEN = "test-admin-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


def make_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {"admin_token": TOKEN, "seed": 0, "max_fault_ttl_s": 900}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@asynccontextmanager
async def open_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client on a fresh app built from ``settings``, its lifespan running."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://toolbox") as client:
            yield client


async def calls_total(client: httpx.AsyncClient) -> dict[tuple[str, str], float]:
    """``toolbox_calls_total`` by (target, result), scraped from ``/metrics``."""
    response = await client.get("/metrics")
    assert response.status_code == 200
    return parse_calls(response.text)


def parse_calls(text: str) -> dict[tuple[str, str], float]:
    values: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "toolbox_calls_total":
                values[(sample.labels["target"], sample.labels["result"])] = sample.value
    return values


async def set_fault(client: httpx.AsyncClient, target: str, **spec: object) -> httpx.Response:
    response = await client.put(f"/faults/{target}", json=spec, headers=ADMIN)
    assert response.status_code == 200, response.text
    return response
