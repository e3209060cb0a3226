"""`LocalTarget` against a real local stack, started with the fault proxy, then without.

One stack for the module (starting one takes seconds on 2 cores); the tests run in file order:
the last restarts it without the proxy and stops it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from faults.client import FaultClient
from stampede import stack
from stampede.targets import LocalTarget, TargetInfo


@dataclass
class Started:
    target: LocalTarget
    info: TargetInfo
    said: list[str]
    state_dir: Path

    def state(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.state_dir / "stack.json").read_text())
        return data


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Started]:
    """A stack started by ``LocalTarget(proxy=True).up``; stopped at the end whatever happened."""
    state_dir = tmp_path_factory.mktemp("local-target")
    target = LocalTarget(state_dir, None, proxy=True)
    said: list[str] = []
    try:
        info = target.up(said.append)
        yield Started(target, info, said, state_dir)
    finally:
        stack.down(state_dir)


def test_before_up_there_is_nothing_to_reach(tmp_path: Path) -> None:
    target = LocalTarget(tmp_path, None)
    assert target.status().problem == f"no local stack in {tmp_path}"
    assert target.fault_endpoints() == []
    assert target.chaos_env() == {"STAMPEDE_STACK_STATE": str((tmp_path / "stack.json").resolve())}


def test_up_starts_the_stack_with_the_proxy(started: Started) -> None:
    info, state = started.info, started.state()
    assert info.action == "started" and started.target.started_by_us is True
    assert started.said == [
        f"starting the local stack in {started.state_dir} with the fault proxy (weakness none)"
    ]
    assert info.agent_url == state["agent"]["url"] and info.weakness is None
    assert info.details["proxy_url"] == state["proxy"]["url"]
    assert started.target.status().ready
    caps = started.target.capabilities
    assert caps.counts_workers and caps.counts_lost_records and caps.starts_agent
    assert not caps.counts_replicas
    assert started.target.extra_samples() == [("workers_alive", "", 2.0)]


def test_the_proxy_comes_first_in_fault_endpoints_chaos_env_and_metrics(started: Started) -> None:
    state, target = started.state(), started.target
    assert [(e.name, e.url, e.token) for e in target.fault_endpoints()] == [
        ("proxy", state["proxy"]["url"], state["proxy"]["admin_token"]),
        ("toolbox", state["toolbox"]["url"], state["admin_token"]),
    ]
    assert target.chaos_env() == {
        "STAMPEDE_STACK_STATE": str(started.state_dir / "stack.json"),
        "STAMPEDE_FAULT_API_URL": state["proxy"]["url"],
        "STAMPEDE_FAULT_API_TOKEN": state["proxy"]["admin_token"],
    }
    sources = target.metrics_sources()
    assert [(s.name, s.url) for s in sources] == [
        ("agent", f"{state['agent']['url']}/metrics"),
        ("proxy", f"{state['proxy']['url']}/metrics"),
    ]
    assert "# TYPE agent_request_latency_seconds histogram" in sources[0].fetch()
    assert "# TYPE stampede_proxy_" in sources[1].fetch()


def test_a_second_target_on_the_same_dir_reuses_it(started: Started) -> None:
    again = LocalTarget(started.state_dir, None)  # proxy=None: as the running stack has it
    said: list[str] = []
    assert again.up(said.append).action == "reused" and said == []
    assert again.started_by_us is False
    assert [e.name for e in again.fault_endpoints()] == ["proxy", "toolbox"]


def test_heal_clears_faults_on_the_proxy_and_the_toolbox(started: Started) -> None:
    proxy, toolbox = (e.client() for e in started.target.fault_endpoints())
    proxy.set("llm", {"latency_ms": 50, "ttl_s": 30})
    toolbox.set("tool:get_logs", {"error_rate": 1.0, "ttl_s": 30})
    assert started.target.heal() == [
        "cleared proxy faults left behind: llm",
        "cleared toolbox faults left behind: tool:get_logs",
    ]
    assert proxy.active() == {} and toolbox.active() == {}


def test_asking_for_no_proxy_restarts_the_stack_without_it(started: Started) -> None:
    target = LocalTarget(started.state_dir, None, proxy=False)
    said: list[str] = []
    info = target.up(said.append)
    assert info.action == "restarted (proxy on -> off)", said
    state = started.state()
    assert "proxy" not in state and "proxy_url" not in info.details
    [toolbox] = target.fault_endpoints()
    assert (toolbox.name, toolbox.url) == ("toolbox", state["toolbox"]["url"])
    env = target.chaos_env()
    assert env["STAMPEDE_FAULT_API_URL"] == state["toolbox"]["url"]
    assert env["STAMPEDE_FAULT_API_TOKEN"] == state["admin_token"]
    assert [s.name for s in target.metrics_sources()] == ["agent"]
    assert FaultClient(toolbox.url, toolbox.token).active() == {}
    target.down(said.append)
    assert not target.status().ready
