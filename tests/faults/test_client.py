"""`faults.client.FaultClient` against a real toolbox process on a free 127.0.0.1 port."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from faults.client import FaultApiError, FaultClient
from stampede import procs

TOOL = "tool:get_logs"


@pytest.fixture(scope="module")
def toolbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """``(base URL, admin token)`` of one toolbox for the module, stopped by PID."""
    port = procs.free_port()
    token = secrets.token_hex(8)
    log: Path = tmp_path_factory.mktemp("toolbox") / "toolbox.log"
    proc = procs.start_toolbox(port, log, token)
    yield f"http://{procs.LOCALHOST}:{port}", token
    procs.stop(proc)


@pytest.fixture
def client(toolbox: tuple[str, str]) -> Iterator[FaultClient]:
    """A client with the right token; every fault is cleared before and after the test."""
    url, token = toolbox
    fault_client = FaultClient(url, token, timeout_s=3.0)
    fault_client.clear_all()
    yield fault_client
    fault_client.clear_all()


def test_set_list_and_clear_one_target(client: FaultClient) -> None:
    """A fault set on a target is listed with its expiry, then cleared by name (idempotent)."""
    stored = client.set("llm", {"error_rate": 0.5, "ttl_s": 30})
    assert stored["target"] == "llm" and stored["error_rate"] == 0.5
    assert stored["expires_at"] > 0
    active = client.active()
    assert set(active) == {"llm"}
    assert active["llm"]["error_rate"] == 0.5 and active["llm"]["ttl_s"] == 30
    assert client.clear("llm") == ["llm"]
    assert client.clear("llm") == []
    assert client.active() == {}


def test_a_tool_target_with_a_colon_round_trips(client: FaultClient) -> None:
    """``tool:<name>`` reaches the API as one path segment."""
    client.set(TOOL, {"latency_ms": 50, "ttl_s": 30})
    assert list(client.active()) == [TOOL]
    assert client.clear(TOOL) == [TOOL]


def test_clear_all_returns_the_targets_that_had_a_fault(client: FaultClient) -> None:
    client.set("llm", {"hang": True, "ttl_s": 30})
    client.set("tools", {"error_rate": 1.0, "ttl_s": 30})
    assert client.clear_all() == ["llm", "tools"]
    assert client.clear_all() == []


def test_a_wrong_token_is_a_fault_api_error_naming_401(toolbox: tuple[str, str]) -> None:
    url, _ = toolbox
    with pytest.raises(FaultApiError) as caught:
        FaultClient(url, "not-the-token", timeout_s=3.0).active()
    assert caught.value.status == 401
    assert caught.value.url == f"{url}/faults"
    assert str(caught.value).startswith(f"GET {url}/faults: expected HTTP 200, got 401: ")


def test_a_refused_spec_carries_the_servers_detail(client: FaultClient) -> None:
    """422 (a spec that does not fit its target) and 404 (an unknown target) keep the detail."""
    with pytest.raises(FaultApiError, match=r"got 422: .*hallucinate") as refused:
        client.set(TOOL, {"hallucinate": True, "ttl_s": 30})
    assert refused.value.status == 422
    with pytest.raises(FaultApiError, match=r"got 404: unknown fault target 'nope'") as unknown:
        client.clear("nope")
    assert unknown.value.status == 404
    assert client.active() == {}


def test_no_answer_is_a_fault_api_error_without_status() -> None:
    url = f"http://{procs.LOCALHOST}:{procs.free_port()}"
    with pytest.raises(FaultApiError, match=r"DELETE .*/faults: no answer \(ConnectError") as err:
        FaultClient(url, "token", timeout_s=1.0).clear_all()
    assert err.value.status is None


def test_proxies_from_the_environment_are_ignored(
    client: FaultClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy set in the environment (CI runners have them) does not capture loopback calls."""
    dead = f"http://{procs.LOCALHOST}:{procs.free_port()}"
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, dead)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert client.active() == {}


def test_the_token_is_not_in_the_clients_repr(toolbox: tuple[str, str]) -> None:
    url, token = toolbox
    assert token not in repr(FaultClient(url, token))
