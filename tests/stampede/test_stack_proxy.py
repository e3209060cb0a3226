"""The local stack with the fault proxy between the agent and the toolbox (`up --proxy`).

One real stack (1 worker, free ports) serves the module; the last test kills its proxy and
checks that the stack is then not ready and that ``down`` leaves nothing behind. The tests
before it leave the stack healthy with no fault set. State-file tests need no processes.
"""

from __future__ import annotations

import json
import logging
import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from faults.client import FaultApiError, FaultClient
from stampede import cli_stack, procs, stack
from stampede.errors import InputError
from stampede.stack import lifecycle
from target_agent.toolbox.catalogue import catalogue
from target_agent.vocabulary import PLAYBOOK, TOOLS
from tests.stampede.helpers import gone, snapshot, stack_processes, wait_until, write_dead_stack

pytestmark = pytest.mark.timeout(240)

CALLS = "stampede_proxy_calls_total"


# -- state files (no processes) -------------------------------------------------------------


def test_an_old_state_file_without_a_proxy_still_loads(tmp_path: Path) -> None:
    write_dead_stack(tmp_path, proxy=False)
    state = stack.load_state(tmp_path / "stack.json")
    assert state.proxy is None
    assert list(stack.status(tmp_path)["components"]) == ["redis", "toolbox", "agent"]


def test_a_recorded_proxy_loads_and_shows_in_status_without_its_token(tmp_path: Path) -> None:
    write_dead_stack(tmp_path, proxy=True)
    state = stack.load_state(tmp_path / "stack.json")
    assert state.proxy is not None
    assert (state.proxy.url, state.proxy.admin_token) == ("http://127.0.0.1:8200", "proxy-token")
    assert state.proxy.metrics_url == "http://127.0.0.1:8200/metrics"
    assert "proxy-token" not in repr(state)
    report = stack.status(tmp_path)
    assert list(report["components"]) == ["redis", "toolbox", "proxy", "agent"]
    assert report["components"]["proxy"]["ready"] is False
    assert "proxy-token" not in json.dumps(report)


def test_a_malformed_proxy_entry_names_the_field(tmp_path: Path) -> None:
    data = write_dead_stack(tmp_path, proxy=True)
    del data["proxy"]["admin_token"]
    (tmp_path / "stack.json").write_text(json.dumps(data))
    with pytest.raises(InputError, match=r"stack.json: malformed stack state: proxy.admin_token"):
        stack.load_state(tmp_path / "stack.json")


def test_a_stack_without_a_proxy_differs_from_a_proxy_request(tmp_path: Path) -> None:
    write_dead_stack(tmp_path, proxy=False)
    state = stack.load_state(tmp_path / "stack.json")
    config = stack.StackConfig(state_dir=tmp_path, proxy=True)
    assert lifecycle._differences(state, config) == ["no fault proxy (asked proxy=True)"]


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        (stack.StackConfig(proxy_port=8200), "--proxy-port: 8200 given without --proxy"),
        (stack.StackConfig(proxy=True, proxy_port=70000), "--proxy-port: 70000 is not a TCP port"),
        (stack.StackConfig(proxy=True, proxy_port=8000, agent_port=8000), "ports must differ"),
    ],
)
def test_bad_proxy_settings_are_rejected(config: stack.StackConfig, problem: str) -> None:
    with pytest.raises(InputError, match=problem):
        config.validate()


def test_up_dash_dash_proxy_asks_for_a_proxy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[stack.StackConfig] = []

    def fake_up(config: stack.StackConfig) -> stack.StackState:
        asked.append(config)
        raise InputError("stop here")

    monkeypatch.setattr(stack, "up", fake_up)
    with pytest.raises(InputError, match="stop here"):
        cli_stack.up(state_dir=tmp_path, proxy=True, proxy_port=0)
    assert [c.proxy for c in asked] == [True]


# -- a real stack with the proxy ------------------------------------------------------------


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[stack.StackState]:
    state_dir = tmp_path_factory.mktemp("stack")
    state = stack.up(stack.StackConfig(state_dir=state_dir, workers=1, proxy=True))
    try:
        yield state
    finally:
        stack.down(state_dir)


def _proxy(state: stack.StackState) -> stack.ProxyState:
    assert state.proxy is not None, "the stack was started without its proxy"
    return state.proxy


def _calls(proxy: stack.ProxyState) -> dict[tuple[str, str], float]:
    """``(upstream, result) -> count`` from the proxy's /metrics."""
    text = httpx.get(proxy.metrics_url, trust_env=False, timeout=5.0).text
    counts = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == CALLS:
                counts[(sample.labels["upstream"], sample.labels["result"])] = sample.value
    return counts


def _investigate(state: stack.StackState, index: int) -> tuple[dict[str, Any], str, str]:
    """(answer, expected root cause, alert type) of incident ``index`` asked of the agent."""
    incident = catalogue()[index]
    alert = incident.alert()
    with httpx.Client(trust_env=False, timeout=60.0) as client:
        response = client.post(f"{state.agent.url}/investigate", json=alert)
    assert response.status_code == 200, response.text
    return response.json(), incident.root_cause, alert["alert_type"]


def test_up_with_proxy_puts_it_between_agent_and_toolbox(running: stack.StackState) -> None:
    proxy = _proxy(running)
    report = stack.status(running.path.parent)
    assert report["all_up"], report
    assert list(report["components"]) == ["redis", "toolbox", "proxy", "agent"]
    assert report["components"]["proxy"]["url"] == proxy.url
    assert proxy.url.startswith(f"http://{procs.LOCALHOST}:")
    assert len({running.redis.port, running.toolbox.port, proxy.port, running.agent.port}) == 4
    assert running.agent.env["AGENT_TOOLBOX_URL"] == proxy.url
    assert running.agent.env["AGENT_LLM_BASE_URL"] == f"{proxy.url}/llm"
    tools = {f"tool:{name}": f"{running.toolbox.url}/tools/{name}" for name in TOOLS}
    assert proxy.upstreams == {"llm": f"{running.toolbox.url}/v1", **tools}
    assert proxy.admin_token and proxy.admin_token != running.admin_token
    assert Path(proxy.log) == running.path.parent / "logs" / "proxy.log"
    on_disk = json.loads(running.path.read_text())["proxy"]
    assert (on_disk["pid"], on_disk["admin_token"]) == (proxy.pid, proxy.admin_token)
    process = psutil.Process(proxy.pid)
    assert process.environ()[stack.MARKER_ENV] == running.stack_marker()
    assert proxy.admin_token not in " ".join(process.cmdline())
    assert proxy.admin_token not in Path(proxy.log).read_text()


def test_an_investigation_through_the_proxy_is_correct_and_counted(
    running: stack.StackState,
) -> None:
    proxy = _proxy(running)
    before = _calls(proxy)
    body, root_cause, alert_type = _investigate(running, 0)
    assert body["status"] == "complete", body
    assert body["root_cause"] == root_cause
    after = _calls(proxy)
    assert after[("llm", "ok")] > before[("llm", "ok")]
    for tool in PLAYBOOK[alert_type]:
        key = (f"tool:{tool}", "ok")
        assert after[key] > before[key], f"{key}: {before[key]} -> {after[key]}"


def test_a_fault_on_the_proxy_degrades_the_answer_while_the_toolbox_has_none(
    running: stack.StackState,
) -> None:
    proxy = _proxy(running)
    faults = FaultClient(proxy.url, proxy.admin_token)
    toolbox = FaultClient(running.toolbox.url, running.admin_token)
    with pytest.raises(FaultApiError) as refused:
        FaultClient(proxy.url, running.admin_token).active()
    assert refused.value.status == 401, "the proxy took the toolbox's token"
    faults.set("tool:get_logs", {"error_rate": 1.0, "error_status": 503, "ttl_s": 60})
    try:
        before = _calls(proxy)
        assert toolbox.active() == {}
        body, _, alert_type = _investigate(running, 1)
        assert "get_logs" in PLAYBOOK[alert_type]
        assert body["status"] == "degraded", body
        assert "get_logs" in body["missing_evidence"], body
        after = _calls(proxy)
        assert after[("tool:get_logs", "error")] > before[("tool:get_logs", "error")]
        assert toolbox.active() == {}
    finally:
        assert faults.clear_all() == ["tool:get_logs"]


def test_up_again_without_proxy_keeps_the_stack_and_says_it_differs(
    running: stack.StackState, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="stampede.stack"):
        again = stack.up(stack.StackConfig(state_dir=running.path.parent, workers=1))
    assert again == running
    assert "a fault proxy (asked proxy=False)" in caplog.text


def test_a_dead_proxy_makes_the_stack_not_ready_and_down_stops_everything(
    running: stack.StackState, caplog: pytest.LogCaptureFixture
) -> None:
    proxy = _proxy(running)
    state_dir = running.path.parent
    started = snapshot(
        [running.redis.pid, running.toolbox.pid, proxy.pid, *stack.agent_worker_pids(running)]
    )
    assert len(started) == 4  # --workers 1: the agent master serves itself
    assert proxy.proc.send_signal(signal.SIGKILL)
    wait_until(lambda: gone(proxy.pid, proxy.create_time), 10, "proxy gone after SIGKILL")
    report = stack.status(state_dir)
    assert not report["all_up"]
    assert not report["components"]["proxy"]["alive"]
    assert all(report["components"][name]["ready"] for name in ("redis", "toolbox", "agent"))

    with caplog.at_level(logging.INFO, logger="stampede.stack"):
        stack.down(state_dir)
    order = [m[1] for r in caplog.records if (m := re.search(r"(\w+) \(pid", r.getMessage()))]
    assert order == ["agent", "proxy", "toolbox", "redis"], caplog.text
    assert "proxy (pid" in caplog.text and "was not running" in caplog.text
    assert [pid for pid, ct in started if not gone(pid, ct)] == []
    assert stack_processes(state_dir) == []
    assert not running.path.exists()
