"""The toolbox refuses oversized request bodies with 413 before parsing, like the agent."""

from __future__ import annotations

import json

import httpx
import pytest

from faults.bodylimit import BodyLimit
from tests.conftest import Server
from tests.target_agent.rawhttp import MIB, post_huge_body, rss_bytes
from tests.target_agent.toolbox.support import ADMIN, make_settings, open_client

HUGE = 50 * MIB


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_50_mb_body_is_413_without_the_toolbox_growing(
    toolbox_server: Server, chunked: bool
) -> None:
    """Every route is behind the limit: a tool, the LLM and the fault API alike."""
    url, pid = toolbox_server.url, toolbox_server.proc.pid
    assert post_huge_body(url, "/tools/get_logs", 2 * MIB, chunked=True).status == 413  # warm-up
    before = rss_bytes(pid)
    answers = [
        post_huge_body(url, path, HUGE, chunked=chunked)
        for path in ("/tools/get_logs", "/v1/chat/completions", "/faults/llm")
    ]
    after = rss_bytes(pid)
    assert [a.status for a in answers] == [413, 413, 413], [a.head for a in answers]
    assert after - before < 4 * MIB, f"RSS grew by {(after - before) / MIB:.1f} MiB"
    with httpx.Client(base_url=url, timeout=10, trust_env=False) as client:
        tool = client.post("/tools/get_logs", json={"service": "checkout"})
        faults = client.get(
            "/faults", headers={"Authorization": f"Bearer {toolbox_server.admin_token}"}
        )
    assert (tool.status_code, faults.status_code) == (200, 200)


def test_a_reset_fault_still_resets_behind_the_limit(toolbox_server: Server) -> None:
    """The body is replayed through a ``receive`` that keeps the route's path to the socket."""
    headers = {"Authorization": f"Bearer {toolbox_server.admin_token}"}
    with httpx.Client(base_url=toolbox_server.url, timeout=10, trust_env=False) as client:
        client.put(
            "/faults/tool:get_logs", json={"reset": True, "ttl_s": 30}, headers=headers
        ).raise_for_status()
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            client.post("/tools/get_logs", json={"service": "checkout"})
        client.delete("/faults", headers=headers).raise_for_status()


@pytest.mark.anyio
async def test_the_limit_is_a_setting() -> None:
    async with open_client(make_settings(max_body_bytes=100)) as client:
        big = json.dumps({"service": "x" * 200}).encode()
        refused = await client.post("/tools/get_logs", content=big)
        fits = await client.post("/tools/get_logs", json={"service": "checkout"})
        fault_api = await client.get("/faults", headers=ADMIN)
    assert refused.status_code == 413
    assert refused.json() == {"detail": f"request body of {len(big)} bytes is over 100 bytes"}
    assert (fits.status_code, fault_api.status_code) == (200, 200)


# -- the middleware itself (faults/bodylimit.py), driven as plain ASGI -----------------------


async def _drive(
    headers: list[tuple[bytes, bytes]], messages: list[dict[str, object]], limit: int = 10
) -> tuple[list[dict[str, object]], list[bytes]]:
    """Run BodyLimit over an echo app; what was sent back and what bodies the app saw."""
    seen: list[bytes] = []

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        message = await receive()  # type: ignore[operator]
        seen.append(message["body"])
        await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]

    inbox = list(messages)
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return inbox.pop(0) if inbox else {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    await BodyLimit(app, limit)(scope, receive, send)
    return sent, seen


def _chunk(body: bytes, more: bool) -> dict[str, object]:
    return {"type": "http.request", "body": body, "more_body": more}


@pytest.mark.anyio
async def test_chunks_within_the_budget_reach_the_app_as_one_body() -> None:
    sent, seen = await _drive([], [_chunk(b"12345", True), _chunk(b"6789", False)])
    assert seen == [b"123456789"] and sent[0]["status"] == 200


@pytest.mark.anyio
async def test_a_chunked_body_over_the_budget_is_413_with_connection_close() -> None:
    messages = [_chunk(b"123456", True), _chunk(b"78901", True), _chunk(b"never read", False)]
    sent, seen = await _drive([], messages)
    assert seen == [] and sent[0]["status"] == 413
    assert (b"connection", b"close") in sent[0]["headers"]  # type: ignore[operator]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("length", "status"), [(b"11", 413), (b"ten", 400), (b"-1", 400)], ids=["over", "word", "neg"]
)
async def test_a_declared_length_is_judged_before_any_read(length: bytes, status: int) -> None:
    sent, seen = await _drive([(b"content-length", length)], [_chunk(b"x", False)])
    assert seen == [] and sent[0]["status"] == status


@pytest.mark.anyio
async def test_a_client_gone_mid_body_gets_nothing_and_the_app_is_not_called() -> None:
    sent, seen = await _drive([], [_chunk(b"123", True)])
    assert (sent, seen) == ([], [])
