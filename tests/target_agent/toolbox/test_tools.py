"""``POST /tools/{name}``: catalogue answers; 404 unknown tool or service; 422 bad bodies."""

from __future__ import annotations

import httpx
import pytest

from target_agent.toolbox.catalogue import TOOLS, by_service, catalogue

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("tool", TOOLS)
async def test_tool_answers_from_the_catalogue(client: httpx.AsyncClient, tool: str) -> None:
    incident = by_service("checkout")
    assert incident is not None
    response = await client.post(f"/tools/{tool}", json={"service": "checkout"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"tool", "service", "data", "findings", "observed_at"}
    assert (body["tool"], body["service"]) == (tool, "checkout")
    assert body["data"] == incident.evidence[tool]["data"]
    assert body["findings"] == incident.evidence[tool]["findings"]
    assert isinstance(body["observed_at"], float)


async def test_extra_arguments_are_ignored(client: httpx.AsyncClient) -> None:
    response = await client.post("/tools/get_logs", json={"service": "auth", "window": "1h"})
    assert response.status_code == 200


async def test_unknown_tool_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post("/tools/rm_rf", json={"service": "checkout"})
    assert response.status_code == 404
    assert response.json() == {
        "detail": "unknown tool 'rm_rf': expected one of check_pods, get_metrics, get_logs, "
        "get_deploys"
    }


async def test_unknown_service_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post("/tools/get_logs", json={"service": "nope"})
    assert response.status_code == 404
    assert response.json() == {"detail": "unknown service 'nope': no incident in the catalogue"}


@pytest.mark.parametrize(
    "content",
    [b"", b"{", b"[]", b'{"service": 3}', b'{"service": ""}', b'{"svc": "checkout"}'],
    ids=["empty", "truncated", "list", "int-service", "empty-service", "missing-service"],
)
async def test_bad_body_is_422(client: httpx.AsyncClient, content: bytes) -> None:
    response = await client.post(
        "/tools/get_logs", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422


async def test_every_service_has_an_answer(client: httpx.AsyncClient) -> None:
    for incident in catalogue(0):
        response = await client.post("/tools/check_pods", json={"service": incident.service})
        assert response.status_code == 200, incident.service
