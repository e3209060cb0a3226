"""`UrlTarget` against real processes: a tiny agent on a free port, a real toolbox as fault API."""

from __future__ import annotations

import inspect
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from faults.client import FaultClient
from stampede import procs
from stampede.errors import HarnessError, InputError
from stampede.targets import (
    TARGETS,
    FaultEndpoint,
    Say,
    Target,
    TargetOptions,
    UrlTarget,
    make_target,
)
from tests.conftest import Server
from tests.targets.conftest import StartAgent


def _said() -> tuple[list[str], Say]:
    lines: list[str] = []
    return lines, lines.append


def test_up_reuses_a_ready_agent_and_starts_nothing(start_agent: StartAgent) -> None:
    agent = start_agent()
    target = UrlTarget(agent.url + "/")
    lines, say = _said()
    info = target.up(say)
    assert (info.agent_url, info.action, info.weakness) == (agent.url, "reused", None)
    assert info.details["seen"] == f"GET {agent.url}/readyz answered 200"
    assert lines == []
    assert target.started_by_us is False and target.capabilities.starts_agent is False
    assert target.status().ready and target.status().problem is None


def test_an_agent_without_readyz_is_reachable_through_its_base_url(
    start_agent: StartAgent,
) -> None:
    agent = start_agent(readyz="missing")
    info = UrlTarget(agent.url).up(print)
    assert info.details["seen"] == f"GET {agent.url}/ answered 200 (no /readyz route)"
    no_health = UrlTarget(agent.url, health_path=None)
    assert no_health.status().details["seen"] == f"GET {agent.url}/ answered 200"


def test_up_waits_for_an_agent_that_becomes_ready(start_agent: StartAgent) -> None:
    agent = start_agent(ready_after_s=1.5)
    lines, say = _said()
    info = UrlTarget(agent.url, ready_timeout_s=20).up(say)
    assert info.action == "reused"
    assert len(lines) == 1 and "waiting up to 20 s" in lines[0] and "HTTP 503" in lines[0]


def test_an_agent_that_stays_unready_fails_up_naming_the_url(start_agent: StartAgent) -> None:
    agent = start_agent(readyz="unready")
    target = UrlTarget(agent.url, ready_timeout_s=1.0)
    status = target.status()
    assert not status.ready and status.problem == f"GET {agent.url}/readyz: HTTP 503"
    with pytest.raises(HarnessError, match=rf"agent at {agent.url} is not ready after 1 s .*503"):
        target.up(print)


def test_nothing_listening_fails_up_with_no_answer() -> None:
    url = f"http://127.0.0.1:{procs.free_port()}"
    target = UrlTarget(url, ready_timeout_s=0.5)
    assert not target.status().ready
    with pytest.raises(HarnessError, match=rf"agent at {url} is not ready .*no answer"):
        target.up(print)


def test_down_is_a_no_op_that_says_so(start_agent: StartAgent) -> None:
    agent = start_agent()
    lines, say = _said()
    UrlTarget(agent.url).down(say)
    assert lines == [
        f"url target: nothing to stop (Stampede did not start the agent at {agent.url})"
    ]
    assert procs.http_status(f"{agent.url}/readyz") == 200 and agent.proc.alive()


@pytest.mark.parametrize(
    ("url", "kwargs"),
    [
        ("http://10.0.0.5:8000", {}),
        ("http://example.com", {}),
        ("http://127.0.0.1:8000", {"metrics_url": "http://192.168.1.2/metrics"}),
        (
            "http://127.0.0.1:8000",
            {"fault_endpoints": [FaultEndpoint("proxy", "http://10.1.1.1:9000", "t")]},
        ),
    ],
)
def test_a_url_off_this_machine_is_refused(url: str, kwargs: dict) -> None:
    with pytest.raises(InputError, match=r"is not this machine; .*127\.0\.0\.1/localhost only"):
        UrlTarget(url, **kwargs)


def test_loopback_forms_are_accepted_and_remote_only_when_allowed() -> None:
    for url in ("http://localhost:1", "http://127.0.0.9:1", "https://[::1]:1"):
        assert UrlTarget(url).agent_url == url
    assert UrlTarget("http://example.com/", allow_remote=True).agent_url == "http://example.com"
    with pytest.raises(InputError, match="expected an http"):
        UrlTarget("ftp://127.0.0.1/")
    with pytest.raises(InputError, match="health path 'readyz'"):
        UrlTarget("http://127.0.0.1:1", health_path="readyz")


def test_capabilities_count_nothing_but_lost_records_with_probe_requests() -> None:
    bare = UrlTarget("http://127.0.0.1:1")
    caps = bare.capabilities
    assert not (caps.counts_replicas or caps.counts_workers or caps.counts_lost_records)
    assert bare.probe_alerts() == [] and bare.extra_samples() == []
    probing = UrlTarget("http://127.0.0.1:1", probe_requests=[{"q": "disk full"}])
    assert probing.capabilities.counts_lost_records
    assert probing.probe_alerts() == [{"q": "disk full"}]


def test_metrics_are_absent_unless_given(start_agent: StartAgent) -> None:
    agent = start_agent()
    bare = UrlTarget(agent.url)
    assert bare.metrics_sources() == []
    with pytest.raises(HarnessError, match="no --metrics-url given"):
        bare.fetch_metrics()
    given = UrlTarget(agent.url, metrics_url=f"{agent.url}/metrics")
    assert [(s.name, s.url) for s in given.metrics_sources()] == [("agent", f"{agent.url}/metrics")]
    assert "agent_in_flight 3" in given.fetch_metrics()


def test_chaos_env_has_the_agent_and_the_first_fault_api() -> None:
    assert UrlTarget("http://127.0.0.1:1").chaos_env() == {
        "STAMPEDE_AGENT_URL": "http://127.0.0.1:1"
    }
    target = UrlTarget(
        "http://127.0.0.1:1",
        fault_endpoints=[
            FaultEndpoint("proxy", "http://127.0.0.1:2/", "tok"),
            FaultEndpoint("other", "http://127.0.0.1:3", "tok3"),
        ],
    )
    assert target.chaos_env() == {
        "STAMPEDE_AGENT_URL": "http://127.0.0.1:1",
        "STAMPEDE_FAULT_API_URL": "http://127.0.0.1:2",
        "STAMPEDE_FAULT_API_TOKEN": "tok",
    }
    assert [e.name for e in target.fault_endpoints()] == ["proxy", "other"]
    assert "tok" not in repr(target.fault_endpoints())


def test_heal_clears_faults_left_on_a_real_fault_api(
    fault_api: Server, faults: FaultClient
) -> None:
    faults.set("llm", {"error_rate": 1.0, "ttl_s": 30})
    faults.set("tool:get_logs", {"latency_ms": 100, "ttl_s": 30})
    endpoint = FaultEndpoint("proxy", fault_api.url, fault_api.admin_token)
    target = UrlTarget("http://127.0.0.1:1", fault_endpoints=[endpoint])
    assert target.heal() == ["cleared proxy faults left behind: llm, tool:get_logs"]
    assert faults.active() == {}
    assert target.heal() == []  # nothing left: nothing said


def test_heal_says_when_a_fault_api_does_not_answer_or_refuses(fault_api: Server) -> None:
    gone = FaultEndpoint("gone", f"http://127.0.0.1:{procs.free_port()}", "t")
    wrong = FaultEndpoint("wrong-token", fault_api.url, "not-the-token")
    done = UrlTarget("http://127.0.0.1:1", fault_endpoints=[gone, wrong]).heal()
    assert len(done) == 2
    assert done[0].startswith("could not check gone faults: DELETE ") and "no answer" in done[0]
    assert done[1].startswith("could not check wrong-token faults:") and "got 401" in done[1]


def test_url_target_has_every_method_of_the_target_protocol() -> None:
    wanted = {n for n, m in vars(Target).items() if inspect.isfunction(m) and not n.startswith("_")}
    target = UrlTarget("http://127.0.0.1:1")
    assert wanted and all(callable(getattr(target, name)) for name in wanted)


# -- make_target
def test_make_target_builds_a_url_target_from_the_command_line_options(tmp_path: Path) -> None:
    assert "url" in TARGETS
    options = TargetOptions(
        agent_url="http://127.0.0.1:1",
        metrics_url="http://127.0.0.1:1/metrics",
        fault_url="http://localhost:2",
        fault_token="tok",
    )
    target = make_target("url", tmp_path, None, options)
    assert isinstance(target, UrlTarget)
    assert [(e.name, e.url, e.token) for e in target.fault_endpoints()] == [
        ("fault-api", "http://localhost:2", "tok")
    ]
    assert [s.url for s in target.metrics_sources()] == ["http://127.0.0.1:1/metrics"]
    assert "tok" not in repr(options)


@pytest.mark.parametrize(
    ("name", "weakness", "options", "message"),
    [
        ("url", None, TargetOptions(), "--target url needs --agent-url URL"),
        (
            "url",
            None,
            TargetOptions(agent_url="http://127.0.0.1:1", fault_url="http://127.0.0.1:2"),
            "--fault-url needs --fault-token too",
        ),
        (
            "url",
            None,
            TargetOptions(agent_url="http://127.0.0.1:1", fault_token="t"),
            "--fault-token needs --fault-url too",
        ),
        (
            "url",
            None,
            TargetOptions(
                agent_url="http://127.0.0.1:1", fault_url="http://10.0.0.1", fault_token="t"
            ),
            "--fault-url 'http://10.0.0.1': host '10.0.0.1' is not this machine",
        ),
        (
            "url",
            "no_retries",
            TargetOptions(agent_url="http://127.0.0.1:1"),
            "--weakness no_retries: weaknesses are the reference agent's",
        ),
        (
            "local",
            None,
            TargetOptions(agent_url="http://127.0.0.1:1", metrics_url="http://127.0.0.1:1/m"),
            "--agent-url, --metrics-url: options of --target url, not --target local",
        ),
        ("url", None, TargetOptions(agent_url="http://127.0.0.1:1", proxy=True), "--proxy"),
        ("nope", None, TargetOptions(), "--target 'nope': unknown target"),
    ],
)
def test_make_target_refuses_bad_options_naming_them(
    tmp_path: Path, name: str, weakness: str | None, options: TargetOptions, message: str
) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        make_target(name, tmp_path, weakness, options)


# -- a fault proxy as the fault API: its series are sampled
@pytest.fixture
def fault_proxy(tmp_path: Path, fault_api: Server) -> Iterator[Server]:
    """A real `stampede proxy` in front of `fault_api`'s LLM route, stopped by PID."""
    port = procs.free_port()
    token = secrets.token_hex(8)
    proc = procs.spawn_proxy(port, tmp_path / "proxy.log", token, {"llm": f"{fault_api.url}/v1"})
    procs.ensure_ready(proc, procs.proxy_ready(port), "fault proxy", timeout_s=30)
    yield Server(f"http://{procs.LOCALHOST}:{port}", port, proc, token)
    procs.stop(proc)


def test_a_fault_proxy_as_fault_api_is_sampled_after_up(
    tmp_path: Path, start_agent: StartAgent, fault_proxy: Server
) -> None:
    agent = start_agent()
    options = TargetOptions(
        agent_url=agent.url,
        metrics_url=f"{agent.url}/metrics",
        fault_url=fault_proxy.url,
        fault_token=fault_proxy.admin_token,
    )
    target = make_target("url", tmp_path, None, options)
    assert [s.name for s in target.metrics_sources()] == ["agent"]  # not known before up
    lines, say = _said()
    info = target.up(say)
    proxy_metrics = f"{fault_proxy.url}/metrics"
    assert [(s.name, s.url) for s in target.metrics_sources()] == [
        ("agent", f"{agent.url}/metrics"),
        ("proxy", proxy_metrics),
    ]
    assert info.details["fault_proxy_metrics_url"] == proxy_metrics
    assert lines == [
        f"url target: fault API 'fault-api' is a Stampede fault proxy "
        f"(GET {proxy_metrics} answered stampede_proxy_* series)"
    ]
    assert "stampede_proxy_" in target.metrics_sources()[1].fetch()


def test_a_toolbox_or_a_silent_fault_api_is_not_scraped_as_a_proxy(
    start_agent: StartAgent, fault_api: Server
) -> None:
    agent = start_agent()
    assert procs.http_status(f"{fault_api.url}/metrics") == 200  # it has metrics, not a proxy's
    gone = f"http://127.0.0.1:{procs.free_port()}"
    endpoints = [
        FaultEndpoint("toolbox", fault_api.url, fault_api.admin_token),
        FaultEndpoint("gone", gone, "t"),
    ]
    target = UrlTarget(agent.url, fault_endpoints=endpoints)
    lines, say = _said()
    info = target.up(say)
    assert target.metrics_sources() == [] and info.details["fault_proxy_metrics_url"] is None
    assert lines[0] == (
        f"url target: fault API 'toolbox' is not a Stampede fault proxy "
        f"(GET {fault_api.url}/metrics answered 200 with no stampede_proxy_* series)"
    )
    assert lines[1].startswith("url target: fault API 'gone' is not a Stampede fault proxy (GET ")
    assert "no answer" in lines[1] and len(lines) == 2
