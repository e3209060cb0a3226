"""The fault activities send where the target's ``chaos_env()`` says: ``$STAMPEDE_FAULT_API_URL``.

Two real toolboxes on free ports: ``fault_api`` stands in for someone else's fault API (the
environment points at it), ``stack_toolbox`` is the toolbox of a stack.json written here (no
agent runs: the fault activities read only URLs and tokens from it). ``stack_proxy`` is a real
``stampede proxy`` in front of ``stack_toolbox``, as ``stampede up --proxy`` puts it: world
faults (lie, hallucinate) must reach the toolbox behind it, the rest the proxy.
"""

from __future__ import annotations

import inspect
import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from chaoslib.exceptions import ActivityFailed

from experiments.activities.toolbox import _api
from experiments.activities.toolbox.actions import (
    NOT_SPEC,
    clear_all_faults,
    clear_fault,
    inject_fault,
)
from experiments.activities.toolbox.probes import active_faults, no_fault_active
from faults.client import FaultClient
from stampede import procs
from stampede.targets import FaultEndpoint, UrlTarget
from target_agent.toolbox.catalogue import catalogue
from target_agent.vocabulary import TOOLS
from tests.conftest import Server

BIN = Path(sys.executable).parent
EXPERIMENT = {
    "version": "1.0.0",
    "title": "A tool fault lands on the fault API of the target's chaos_env()",
    "description": "Sets a latency fault, lists it, clears it; the rollbacks clear every fault.",
    "tags": ["stampede", "test"],
    "configuration": {
        "state_file": {"type": "env", "key": "STAMPEDE_STACK_STATE", "default": "none.json"}
    },
    "runtime": {"rollbacks": {"strategy": "always"}},
    "steady-state-hypothesis": {
        "title": "No fault is set",
        "probes": [
            {
                "type": "probe",
                "name": "no-fault-is-active",
                "provider": {
                    "type": "python",
                    "module": "experiments.activities.toolbox.probes",
                    "func": "no_fault_active",
                },
                "tolerance": True,
            }
        ],
    },
    "method": [
        {
            "type": "action",
            "name": "slow-down-get-logs",
            "provider": {
                "type": "python",
                "module": "experiments.activities.toolbox.actions",
                "func": "inject_fault",
                "arguments": {"target": "tool:get_logs", "latency_ms": 50, "ttl_s": 60},
            },
        },
        {
            "type": "probe",
            "name": "list-the-faults",
            "provider": {
                "type": "python",
                "module": "experiments.activities.toolbox.probes",
                "func": "active_faults",
            },
        },
        {
            "type": "action",
            "name": "clear-the-get-logs-fault",
            "provider": {
                "type": "python",
                "module": "experiments.activities.toolbox.actions",
                "func": "clear_fault",
                "arguments": {"target": "tool:get_logs"},
            },
        },
    ],
    "rollbacks": [
        {
            "type": "action",
            "name": "clear-every-fault",
            "provider": {
                "type": "python",
                "module": "experiments.activities.toolbox.actions",
                "func": "clear_all_faults",
            },
        }
    ],
}


@pytest.fixture(scope="module")
def stack_toolbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The toolbox the hand-written stack.json names (not the one the environment names)."""
    port = procs.free_port()
    token = secrets.token_hex(8)
    log = tmp_path_factory.mktemp("stack-toolbox") / "toolbox.log"
    proc = procs.start_toolbox(port, log, token)
    yield Server(f"http://{procs.LOCALHOST}:{port}", port, proc, token)
    procs.stop(proc)


@pytest.fixture(scope="module")
def stack_proxy(
    tmp_path_factory: pytest.TempPathFactory, stack_toolbox: Server
) -> Iterator[Server]:
    """A real fault proxy in front of `stack_toolbox` (LLM and every tool), own admin token."""
    port = procs.free_port()
    token = secrets.token_hex(8)
    upstreams = {"llm": f"{stack_toolbox.url}/v1"}
    upstreams.update({f"tool:{name}": f"{stack_toolbox.url}/tools/{name}" for name in TOOLS})
    log = tmp_path_factory.mktemp("stack-proxy") / "proxy.log"
    proc = procs.spawn_proxy(port, log, token, upstreams)
    procs.ensure_ready(proc, procs.proxy_ready(port), "fault proxy", timeout_s=30)
    yield Server(f"http://{procs.LOCALHOST}:{port}", port, proc, token)
    procs.stop(proc)


def write_stack(path: Path, toolbox: Server, proxy: Server | None = None) -> str:
    """A complete stack.json whose toolbox (and proxy) are the given servers; its path."""
    now = toolbox.proc.create_time
    ids = {"pid": toolbox.proc.pid, "create_time": now, "log": "x.log"}
    state: dict[str, object] = {
        "version": 1,
        "started_at": now,
        "admin_token": toolbox.admin_token,
        "redis": {**ids, "port": 1, "url": "redis://127.0.0.1:1/0", "executable": "redis"},
        "toolbox": {**ids, "port": toolbox.port, "url": toolbox.url},
        "agent": {**ids, "port": 2, "url": "http://127.0.0.1:2", "workers": 1},
    }
    if proxy is not None:
        state["proxy"] = {
            **ids,
            "port": proxy.port,
            "url": proxy.url,
            "admin_token": proxy.admin_token,
            "upstreams": {},
        }
    path.write_text(json.dumps(state))
    return str(path)


def _clean(*servers: Server) -> None:
    for server in servers:
        FaultClient(server.url, server.admin_token).clear_all()


@pytest.fixture
def stack_file(tmp_path: Path, stack_toolbox: Server) -> Iterator[str]:
    """A stack.json whose toolbox is `stack_toolbox`, no proxy (faults cleared after the test)."""
    yield write_stack(tmp_path / "stack.json", stack_toolbox)
    _clean(stack_toolbox)


@pytest.fixture
def proxy_stack(
    tmp_path: Path, stack_toolbox: Server, stack_proxy: Server
) -> Iterator[tuple[FaultClient, FaultClient]]:
    """A stack.json with `stack_proxy` in front of `stack_toolbox`, found through the environment
    as `LocalTarget.chaos_env()` gives it (fault API = the proxy); (toolbox, proxy) clients.
    """
    _clean(stack_toolbox, stack_proxy)
    yield (
        FaultClient(stack_toolbox.url, stack_toolbox.admin_token),
        FaultClient(stack_proxy.url, stack_proxy.admin_token),
    )
    _clean(stack_toolbox, stack_proxy)


@pytest.fixture
def no_stack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No stack anywhere the activities look, and no fault API in the environment."""
    for name in ("STAMPEDE_FAULT_API_URL", "STAMPEDE_FAULT_API_TOKEN", "STAMPEDE_STATE_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STAMPEDE_STACK_STATE", str(tmp_path / "no-such-stack.json"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _point_at(monkeypatch: pytest.MonkeyPatch, server: Server) -> None:
    """Put the environment a url target's chaos_env() gives for ``server`` as its fault API."""
    target = UrlTarget(
        "http://127.0.0.1:1",
        fault_endpoints=[FaultEndpoint("proxy", server.url, server.admin_token)],
    )
    for name, value in target.chaos_env().items():
        monkeypatch.setenv(name, value)


def test_activities_send_to_the_fault_api_url_without_any_stack(
    no_stack: Path, monkeypatch: pytest.MonkeyPatch, fault_api: Server, faults: FaultClient
) -> None:
    _point_at(monkeypatch, fault_api)
    stored = inject_fault("tool:get_logs", latency_ms=75, ttl_s=30)
    assert stored["target"] == "tool:get_logs" and stored["latency_ms"] == 75
    assert set(faults.active()) == {"tool:get_logs"}  # read straight from the API
    assert set(active_faults()) == {"tool:get_logs"}
    assert no_fault_active() is False
    assert clear_fault("tool:get_logs") == {"cleared": ["tool:get_logs"]}
    inject_fault("llm", error_rate=1.0, ttl_s=30)
    assert clear_all_faults() == {"cleared": ["llm"]}
    assert no_fault_active() is True and faults.active() == {}


def test_the_environment_wins_over_the_stack_and_an_explicit_state_file_over_both(
    no_stack: Path,
    monkeypatch: pytest.MonkeyPatch,
    fault_api: Server,
    faults: FaultClient,
    stack_toolbox: Server,
    stack_file: str,
) -> None:
    stack_faults = FaultClient(stack_toolbox.url, stack_toolbox.admin_token)
    monkeypatch.setenv("STAMPEDE_STACK_STATE", stack_file)
    inject_fault("llm", latency_ms=10, ttl_s=30)  # no env: the stack's toolbox, as before
    assert set(stack_faults.active()) == {"llm"} and faults.active() == {}
    _point_at(monkeypatch, fault_api)
    inject_fault("tools", latency_ms=10, ttl_s=30, configuration={"state_file": stack_file})
    assert set(faults.active()) == {"tools"} and set(stack_faults.active()) == {"llm"}
    inject_fault("tool:get_metrics", latency_ms=10, ttl_s=30, state_file=stack_file)
    assert set(stack_faults.active()) == {"llm", "tool:get_metrics"}
    assert set(faults.active()) == {"tools"}


def test_a_refusal_names_the_fault_api_it_came_from(
    no_stack: Path, monkeypatch: pytest.MonkeyPatch, fault_api: Server, faults: FaultClient
) -> None:
    _point_at(monkeypatch, fault_api)
    with pytest.raises(ActivityFailed, match=rf"PUT {fault_api.url}/faults/llm: .*got 422"):
        inject_fault("llm", lie=True, ttl_s=5)


def test_a_fault_api_url_without_a_token_or_off_this_machine_is_refused(
    no_stack: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STAMPEDE_FAULT_API_URL", "http://127.0.0.1:9")
    with pytest.raises(ActivityFailed, match=r"STAMPEDE_FAULT_API_TOKEN is empty or unset"):
        no_fault_active()
    monkeypatch.setenv("STAMPEDE_FAULT_API_TOKEN", "t")
    monkeypatch.setenv("STAMPEDE_FAULT_API_URL", "http://10.0.0.7:9000")
    with pytest.raises(ActivityFailed, match=r"STAMPEDE_FAULT_API_URL URL .* not on 127\.0\.0\.1"):
        clear_all_faults()


def test_chaos_run_of_one_experiment_lands_on_the_url_targets_fault_api(
    tmp_path: Path, fault_api: Server, faults: FaultClient
) -> None:
    """The same experiment JSON, run by Chaos Toolkit with only the target's chaos_env()."""
    target = UrlTarget(
        "http://127.0.0.1:1",
        fault_endpoints=[FaultEndpoint("proxy", fault_api.url, fault_api.admin_token)],
    )
    path = tmp_path / "experiment.json"
    path.write_text(json.dumps(EXPERIMENT))
    env = {
        "PATH": f"{BIN}:/usr/bin:/bin",
        "STAMPEDE_STACK_STATE": str(tmp_path / "no-such-stack.json"),
        **target.chaos_env(),
    }
    chaos = [str(BIN / "chaos"), "--no-version-check", "--log-file", str(tmp_path / "chaos.log")]
    done = subprocess.run(
        [*chaos, "run", "--journal-path", str(tmp_path / "journal.json"), str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    journal = json.loads((tmp_path / "journal.json").read_text())
    assert done.returncode == 0, done.stderr[-2000:]
    assert journal["status"] == "completed" and journal["deviated"] is False
    injected, listed, cleared = journal["run"]
    assert injected["status"] == "succeeded" and injected["output"]["latency_ms"] == 50
    assert list(listed["output"]) == ["tool:get_logs"]
    assert cleared["output"] == {"cleared": ["tool:get_logs"]}
    assert journal["rollbacks"][0]["output"] == {"cleared": []}
    assert faults.active() == {}


# -- world faults (lie, hallucinate) vs transport faults, with a real proxy in front of a toolbox
LOGS = "tool:get_logs"
WORLD_REFUSED = (
    r"{} is a toolbox world fault; through a proxy use json_rules / llm_content "
    r"\(see docs/proxy\.md\)\. PUT {}/faults/{}: expected HTTP 200, got 422"
)


def _via_the_proxy(monkeypatch: pytest.MonkeyPatch, proxy: Server, stack: str | None) -> None:
    """The environment `LocalTarget.chaos_env()` gives for a stack with a proxy (or none)."""
    monkeypatch.setenv("STAMPEDE_FAULT_API_URL", proxy.url)
    monkeypatch.setenv("STAMPEDE_FAULT_API_TOKEN", proxy.admin_token)
    if stack is not None:
        monkeypatch.setenv("STAMPEDE_STACK_STATE", stack)


def _supports(proxy: Server) -> set[str]:
    """What the findings of one get_logs call through the proxy support (a cause)."""
    incident = catalogue()[0]
    answer = httpx.post(
        f"{proxy.url}/tools/get_logs",
        json={"service": incident.service},
        timeout=10,
        trust_env=False,
    )
    assert answer.status_code == 200, answer.text
    return {finding["supports"] for finding in answer.json()["findings"]}


def test_world_faults_go_to_the_toolbox_behind_the_stacks_proxy_the_rest_to_the_proxy(
    no_stack: Path,
    monkeypatch: pytest.MonkeyPatch,
    stack_toolbox: Server,
    stack_proxy: Server,
    proxy_stack: tuple[FaultClient, FaultClient],
) -> None:
    toolbox, proxy = proxy_stack
    stack = write_stack(no_stack / "stack.json", stack_toolbox, stack_proxy)
    _via_the_proxy(monkeypatch, stack_proxy, stack)
    incident = catalogue()[0]
    assert _supports(stack_proxy) == {incident.root_cause}
    lie = inject_fault(LOGS, lie=True, ttl_s=30)
    assert lie["lie"] is True and lie["fault_api"] == stack_toolbox.url
    assert set(toolbox.active()) == {LOGS} and proxy.active() == {}
    assert _supports(stack_proxy) == {incident.decoy_cause}  # the lie reaches the agent's path
    assert inject_fault("llm", hallucinate=True, ttl_s=30)["fault_api"] == stack_toolbox.url
    slow = inject_fault("tools", latency_ms=20, ttl_s=30)
    assert slow["fault_api"] == stack_proxy.url and set(proxy.active()) == {"tools"}
    listed = active_faults()
    assert {target: fault["fault_api"] for target, fault in listed.items()} == {
        "tools": stack_proxy.url,
        LOGS: stack_toolbox.url,
        "llm": stack_toolbox.url,
    }
    assert no_fault_active() is False
    assert clear_fault(LOGS) == {"cleared": [LOGS]}
    assert set(toolbox.active()) == {"llm"}
    assert clear_all_faults() == {"cleared": ["tools", "llm"]}  # the proxy's, then the toolbox's
    assert toolbox.active() == {} and proxy.active() == {} and no_fault_active() is True


def test_a_rollback_clears_a_target_on_the_proxy_and_on_the_toolbox(
    no_stack: Path,
    monkeypatch: pytest.MonkeyPatch,
    stack_toolbox: Server,
    stack_proxy: Server,
    proxy_stack: tuple[FaultClient, FaultClient],
) -> None:
    toolbox, proxy = proxy_stack
    _via_the_proxy(
        monkeypatch, stack_proxy, write_stack(no_stack / "s.json", stack_toolbox, stack_proxy)
    )
    inject_fault(LOGS, latency_ms=10, ttl_s=30)
    toolbox.set(LOGS, {"lie": True, "ttl_s": 30})
    listed = active_faults()
    assert set(listed) == {LOGS, f"{LOGS}@{stack_toolbox.url}"}
    assert listed[LOGS]["latency_ms"] == 10 and listed[f"{LOGS}@{stack_toolbox.url}"]["lie"]
    assert clear_fault(LOGS) == {"cleared": [LOGS]}
    assert toolbox.active() == {} and proxy.active() == {}


def test_without_a_stack_behind_the_proxy_a_world_fault_says_what_to_use_instead(
    no_stack: Path,
    monkeypatch: pytest.MonkeyPatch,
    stack_proxy: Server,
    proxy_stack: tuple[FaultClient, FaultClient],
) -> None:
    toolbox, proxy = proxy_stack
    _via_the_proxy(monkeypatch, stack_proxy, None)
    with pytest.raises(ActivityFailed, match=WORLD_REFUSED.format("lie", stack_proxy.url, LOGS)):
        inject_fault(LOGS, lie=True, ttl_s=30)
    with pytest.raises(ActivityFailed, match=r"no local stack state at .*no-such-stack\.json"):
        inject_fault(LOGS, lie=True, ttl_s=30)
    with pytest.raises(
        ActivityFailed, match=WORLD_REFUSED.format("hallucinate", stack_proxy.url, "llm")
    ):
        inject_fault("llm", hallucinate=True, latency_ms=5, ttl_s=30)
    assert proxy.active() == {} and toolbox.active() == {}
    incident = catalogue()[0]  # what to use instead works through the proxy
    rule = {"path": "$.findings[*].supports", "value": incident.decoy_cause, "op": "replace"}
    assert inject_fault(LOGS, json_rules=[rule], ttl_s=30)["json_rules"] == [rule]
    assert _supports(stack_proxy) == {incident.decoy_cause}
    assert clear_fault(LOGS) == {"cleared": [LOGS]} and proxy.active() == {}


def test_a_world_fault_at_a_toolbox_url_with_no_stack_behind_it_lands_there(
    no_stack: Path, monkeypatch: pytest.MonkeyPatch, fault_api: Server, faults: FaultClient
) -> None:
    """The kind target's case: $STAMPEDE_FAULT_API_URL is a toolbox, no local stack."""
    _point_at(monkeypatch, fault_api)
    assert inject_fault(LOGS, lie=True, ttl_s=30)["fault_api"] == fault_api.url
    assert set(faults.active()) == {LOGS}


def test_without_the_environment_faults_go_to_the_stacks_toolbox_and_both_are_cleared(
    no_stack: Path,
    monkeypatch: pytest.MonkeyPatch,
    stack_toolbox: Server,
    stack_proxy: Server,
    proxy_stack: tuple[FaultClient, FaultClient],
) -> None:
    toolbox, proxy = proxy_stack
    monkeypatch.setenv(
        "STAMPEDE_STACK_STATE", write_stack(no_stack / "s.json", stack_toolbox, stack_proxy)
    )
    assert inject_fault("llm", error_rate=0.5, ttl_s=30)["fault_api"] == stack_toolbox.url
    assert proxy.active() == {}
    proxy.set("tool:get_metrics", {"hang": True, "ttl_s": 30})  # left behind on the proxy
    assert set(active_faults()) == {"llm", "tool:get_metrics"}
    assert clear_all_faults() == {"cleared": ["llm", "tool:get_metrics"]}
    assert no_fault_active() is True and proxy.active() == {} and toolbox.active() == {}


def test_clearing_tries_every_fault_api_and_names_the_one_that_failed(
    no_stack: Path, monkeypatch: pytest.MonkeyPatch, stack_toolbox: Server, stack_file: str
) -> None:
    dead_port = procs.free_port()
    dead = Server(f"http://{procs.LOCALHOST}:{dead_port}", dead_port, stack_toolbox.proc, "t")
    monkeypatch.setenv(
        "STAMPEDE_STACK_STATE", write_stack(no_stack / "s.json", stack_toolbox, dead)
    )
    inject_fault("llm", latency_ms=10, ttl_s=30)
    with pytest.raises(
        ActivityFailed,
        match=rf"DELETE {dead.url}/faults: no answer .*done on: {stack_toolbox.url}\)",
    ):
        clear_all_faults()
    assert FaultClient(stack_toolbox.url, stack_toolbox.admin_token).active() == {}


def test_inject_fault_takes_every_field_of_the_fault_model_with_its_default() -> None:
    params = inspect.signature(inject_fault).parameters
    taken = {name: p.default for name, p in params.items() if name not in NOT_SPEC}
    defaults = _api.spec_fields()
    assert set(taken) == set(defaults)
    assert {n: v for n, v in taken.items() if v != defaults[n]} == {"json_rules": None}
    assert _api.spec_body({**defaults, "json_rules": None, "ttl_s": 9}) == {"ttl_s": 9}
    assert _api.spec_body({"lie": True, "json_rules": [], "ttl_s": 5}) == {"lie": True, "ttl_s": 5}
