"""The helpdesk example through the fault proxy: experiments/url/ move its outcome classes.

Real processes on free 127.0.0.1 ports: the scripted LLM, the tools, ``stampede proxy`` (with
examples/helpdesk/proxy.yaml) and the helpdesk agent pointed at the proxy (a plain one and a
streaming one). Each experiment runs as a real ``chaos --no-version-check run --rollback-strategy
always`` with only the url target's environment (``STAMPEDE_AGENT_URL``,
``STAMPEDE_FAULT_API_URL``/``_TOKEN``) while a small closed-loop load asks the cases through the
declarative profile; the journal's method window splits the requests into baseline / fault /
recovery (``tests.examples.load``). Expected: a 429 storm -> shed; a cut stream -> error; a
lying on-call tool -> wrong. After the rollback the proxy has no fault left.

Then ``stampede suite --target url`` with examples/helpdesk/slo.yaml: the gate fails the
lying-tool experiment on its wrong_ratio objective, and passes the fault-free baseline.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from loadtests.declarative import DeclarativeProfile, load_declarative_profile
from stampede import procs
from stampede.cases import Case, load_cases
from stampede.profiles import TARGET_PROFILES
from tests.examples.load import ClosedLoop, fault_window, phase_counts, share
from tests.examples.support import (
    EXAMPLE,
    ROOT,
    Service,
    start_agent_via_proxy,
    start_proxy,
)

pytestmark = pytest.mark.timeout(150)

BIN = Path(sys.executable).parent
CHAOS = [str(BIN / "chaos"), "--no-version-check"]
URL_EXPERIMENTS = ROOT / "experiments" / "url"
PROXY_EXPERIMENTS = ("llm-rate-limit", "llm-stream-cut", "lying-tool")
TOKEN = "helpdesk-chaos-test-token"
#: Seconds of the fault window (the experiments' STAMPEDE_FAULT_WINDOW_S), and around it.
WINDOW_S = 4
WARMUP_S = 2.5
COOLDOWN_S = 2.5
CHAOS_TIMEOUT_S = 60
OUTCOMES = ("correct", "degraded", "wrong", "shed", "error")


def chaos_env(agent_url: str, proxy_url: str, **extra: str) -> dict[str, str]:
    """The url target's environment for ``chaos`` (UrlTarget.chaos_env) plus experiment knobs."""
    return {
        "STAMPEDE_AGENT_URL": agent_url,
        "STAMPEDE_FAULT_API_URL": proxy_url,
        "STAMPEDE_FAULT_API_TOKEN": TOKEN,
        **extra,
    }


def experiment(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((URL_EXPERIMENTS / f"{name}.json").read_text())
    return data


# -- the experiment files --------------------------------------------------------------------


@pytest.fixture(scope="module")
def validations(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str]]:
    """``chaos --no-version-check validate`` of each proxy experiment, side by side."""
    env = {**os.environ, **chaos_env("http://127.0.0.1:9", "http://127.0.0.1:9")}
    running = {}
    for name in PROXY_EXPERIMENTS:
        cwd = tmp_path_factory.mktemp(f"validate-{name}")
        running[name] = subprocess.Popen(
            [*CHAOS, "--log-file", str(cwd / "chaos.log"), "validate",
             str(URL_EXPERIMENTS / f"{name}.json")],
            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    return {name: (p.wait(timeout=120), p.communicate()[0]) for name, p in running.items()}


@pytest.mark.parametrize("name", PROXY_EXPERIMENTS)
def test_chaos_validates_the_experiment(name: str, validations: dict[str, tuple[int, str]]) -> None:
    code, output = validations[name]
    assert code == 0, output
    assert "experiment syntax and semantic look valid" in output


@pytest.mark.parametrize("name", PROXY_EXPERIMENTS)
def test_the_experiment_reads_only_the_url_targets_environment(name: str) -> None:
    """Agent URL and fault API from the env (no default, no local stack), a TTL on the fault,
    the method ends by clearing it and the rollback clears the same target again."""
    exp = experiment(name)
    config = exp["configuration"]
    for key, env in (
        ("agent_url", "STAMPEDE_AGENT_URL"),
        ("fault_api_url", "STAMPEDE_FAULT_API_URL"),
    ):
        assert config[key] == {"type": "env", "key": env}
    assert exp["secrets"]["fault_api"]["token"] == {
        "type": "env",
        "key": "STAMPEDE_FAULT_API_TOKEN",
    }
    assert "state_file" not in json.dumps(exp) and "127.0.0.1" not in json.dumps(exp)
    assert exp["runtime"]["rollbacks"]["strategy"] == "always"
    for key, value in config.items():
        assert value["type"] == "env" and value["key"].startswith("STAMPEDE_"), key
    inject, clear = exp["method"]
    assert inject["provider"]["func"] == "inject_fault"
    assert inject["provider"]["arguments"]["ttl_s"] == "${fault_ttl_s}"
    assert inject["pauses"] == {"after": "${fault_window_s}"}
    target = inject["provider"]["arguments"]["target"]
    assert clear["provider"]["func"] == "clear_fault"
    (rollback,) = exp["rollbacks"]
    assert clear["provider"]["arguments"] == rollback["provider"]["arguments"] == {"target": target}


# -- processes ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def proxy(logs: Path, llm: Service, tools: Service) -> Iterator[Service]:
    service = start_proxy(logs, llm.url, tools.url, TOKEN)
    yield service
    procs.stop(service.proc)


@pytest.fixture(scope="module")
def agents(logs: Path, proxy: Service) -> Iterator[dict[bool, Service]]:
    """The helpdesk behind the proxy: ``agents[False]`` plain, ``agents[True]`` streaming."""
    plain = start_agent_via_proxy(logs, proxy.url, "agent")
    try:
        streaming = start_agent_via_proxy(logs, proxy.url, "streaming", llm_stream="true")
    except BaseException:
        procs.stop(plain.proc)
        raise
    yield {False: plain, True: streaming}
    procs.stop(streaming.proc)
    procs.stop(plain.proc)


@pytest.fixture(scope="module")
def profile() -> DeclarativeProfile:
    return load_declarative_profile(EXAMPLE / "profile.yaml")


@pytest.fixture(scope="module")
def cases(profile: DeclarativeProfile) -> tuple[Case, ...]:
    loaded = load_cases(EXAMPLE / "cases.yaml")
    profile.check_cases(loaded)
    return loaded


def proxy_faults(proxy_url: str) -> dict[str, Any]:
    response = httpx.get(
        f"{proxy_url}/faults", headers={"Authorization": f"Bearer {TOKEN}"}, trust_env=False
    )
    response.raise_for_status()
    faults: dict[str, Any] = response.json()["faults"]
    return faults


def run_chaos(name: str, env: dict[str, str], work: Path) -> tuple[int, dict[str, Any]]:
    """``chaos --no-version-check run --rollback-strategy always`` of experiments/url/<name>.json.

    Returns its exit code and journal.
    """
    journal = work / "journal.json"
    cmd = [*CHAOS, "--log-file", str(work / "chaostoolkit.log"), "run",
           "--rollback-strategy", "always", "--journal-path", str(journal),
           str(URL_EXPERIMENTS / f"{name}.json")]  # fmt: skip
    chaos = procs.Child("chaos", cmd, work / "chaos.out", env, ROOT)
    code = chaos.wait(CHAOS_TIMEOUT_S)
    if code is None:
        chaos.stop(signal.SIGINT, 20)
        pytest.fail(
            f"chaos --no-version-check run {name} still running after {CHAOS_TIMEOUT_S} s:\n"
            f"{chaos.log_tail()}"
        )
    if not journal.exists():
        pytest.fail(
            f"chaos --no-version-check run {name} exited {code} without a journal:\n"
            f"{chaos.log_tail()}"
        )
    data: dict[str, Any] = json.loads(journal.read_text())
    return code, data


# -- the outcome classes move ------------------------------------------------------------------

Counts = dict[str, Counter[str]]


def shed_rises(counts: Counts) -> None:
    """The 429s come back as the helpdesk's own 429 + Retry-After: shed."""
    assert share(counts["fault"], "shed") >= 0.5, counts


def error_rises(counts: Counts) -> None:
    """A cut stream is a failed LLM call: 502, error (or a partial answer)."""
    assert share(counts["fault"], "error", "degraded") >= 0.5, counts


def wrong_rises(counts: Counts) -> None:
    """Every primary on-call answer names the liar's value: 3 of the 14 cases go wrong."""
    assert counts["fault"]["wrong"] >= 2, counts
    assert share(counts["fault"], "wrong") >= 0.1, counts


def version_lies(counts: Counts) -> None:
    """lookup_service says every service runs 0.0.0: the two version cases go wrong."""
    assert counts["fault"]["wrong"] >= 2, counts
    assert 0.05 <= share(counts["fault"], "wrong") <= 0.3, counts


@dataclass(frozen=True)
class Expectation:
    id: str
    name: str
    streaming: bool
    rises: Callable[[Counts], None]
    knobs: tuple[tuple[str, str], ...] = ()


VERSION_RULES = json.dumps([{"path": "$.version", "value": "0.0.0", "op": "replace"}])
EXPECTATIONS = [
    Expectation("llm-rate-limit", "llm-rate-limit", False, shed_rises),
    Expectation("llm-stream-cut", "llm-stream-cut", True, error_rises),
    Expectation("lying-tool", "lying-tool", False, wrong_rises),
    # The same file for another tool and path, by its env overrides only.
    Expectation(
        "lying-tool-env-overrides",
        "lying-tool",
        False,
        version_lies,
        (("STAMPEDE_LIE_TARGET", "tool:lookup_service"), ("STAMPEDE_LIE_RULES", VERSION_RULES)),
    ),
]


@pytest.mark.parametrize("expect", EXPECTATIONS, ids=[e.id for e in EXPECTATIONS])
def test_the_fault_moves_the_outcome_classes(
    expect: Expectation,
    agents: dict[bool, Service],
    proxy: Service,
    profile: DeclarativeProfile,
    cases: tuple[Case, ...],
    tmp_path: Path,
) -> None:
    """Correct before and after, the expected class during the fault, no fault left behind."""
    agent = agents[expect.streaming]
    env = chaos_env(
        agent.url, proxy.url, STAMPEDE_FAULT_WINDOW_S=str(WINDOW_S), STAMPEDE_FAULT_TTL_S="30",
        **dict(expect.knobs),
    )  # fmt: skip
    load = ClosedLoop(agent.url, profile, cases, users=2)
    load.start()
    try:
        time.sleep(WARMUP_S)
        code, journal = run_chaos(expect.name, env, tmp_path)
        time.sleep(COOLDOWN_S)
    finally:
        samples = load.stop()
    window = fault_window(journal)
    counts = phase_counts(samples, window)
    print(f"FIGURES {expect.id}: " + json.dumps({k: dict(v) for k, v in counts.items()}))
    assert code == 0 and journal["status"] == "completed", journal["status"]
    assert journal["deviated"] is False
    assert proxy_faults(proxy.url) == {}
    assert [r["status"] for r in journal["rollbacks"]] == ["succeeded"]
    assert window[1] - window[0] >= WINDOW_S
    for phase in ("baseline", "fault", "recovery"):
        assert sum(counts[phase].values()) >= 10, (phase, counts)
    for phase in ("baseline", "recovery"):
        assert share(counts[phase], "correct") >= 0.95, (phase, counts)
        assert counts[phase]["wrong"] == 0, (phase, counts)
    assert share(counts["fault"], "correct") <= share(counts["baseline"], "correct") - 0.1
    if expect.name != "lying-tool":
        assert counts["fault"]["wrong"] == 0, counts
    expect.rises(counts)


def test_the_rollback_clears_the_fault_when_the_hypothesis_fails(
    proxy: Service, tmp_path: Path
) -> None:
    """The agent URL does not answer: the hypothesis fails before the method, yet the rollback
    (strategy always) clears the experiment's target: a fault left there is gone."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    left = httpx.put(
        f"{proxy.url}/faults/tool:get_oncall", json={"error_rate": 1.0, "ttl_s": 60},
        headers=headers, trust_env=False,
    )  # fmt: skip
    assert left.status_code == 200, left.text
    nowhere = f"http://{procs.LOCALHOST}:{procs.free_port()}"
    code, journal = run_chaos("lying-tool", chaos_env(nowhere, proxy.url), tmp_path)
    assert code == 1 and journal["status"] == "failed", journal["status"]
    assert journal["run"] == []
    assert [r["status"] for r in journal["rollbacks"]] == ["succeeded"]
    assert proxy_faults(proxy.url) == {}


# -- the gate ----------------------------------------------------------------------------------


def _url_profile_with(name: str) -> str | None:
    """A url-target suite profile that has the experiment ``name``, if any."""
    for profile, spec in TARGET_PROFILES.get("url", {}).items():
        if name in {e.name for e in spec.experiments}:
            return profile
    return None


@dataclass(frozen=True)
class GateCase:
    """One suite run: its experiment, the agent it needs and the objectives that must fail."""

    experiment: str
    streaming: bool = False
    fails: tuple[tuple[str, str], ...] = ()


GATE_CASES = (
    GateCase("baseline"),
    GateCase("llm-rate-limit"),  # shedding with Retry-After is allowed
    GateCase("llm-stream-cut", True, (("fault-errors", "llm-stream-cut/fault"),)),
    GateCase("lying-tool", False, (("no-wrong-answers", "lying-tool/fault"),)),
)


def _gate_param(case: GateCase) -> Any:
    """A gate case, skipped (saying why) while no url suite profile has its experiment."""
    reason = (
        f"stampede/profiles.py TARGET_PROFILES['url'] has no profile with {case.experiment!r} "
        "(change request to C: a url profile listing baseline, llm-rate-limit, llm-stream-cut, "
        "lying-tool)"
    )
    skip = pytest.mark.skipif(_url_profile_with(case.experiment) is None, reason=reason)
    return pytest.param(case, marks=skip, id=case.experiment)


def _verdicts(gate: dict[str, Any], verdict: str) -> list[tuple[str, str]]:
    return sorted(
        (c["objective"], f"{c['scope']['experiment']}/{c['scope']['phase']}")
        for c in gate["cases"]
        if c["verdict"] == verdict
    )


def _suite_counts(run_dir: Path, experiment: str) -> dict[str, dict[str, int]]:
    """Outcome counts per phase of one experiment, from the run's summary.json ratios."""
    summary = json.loads((run_dir / "summary.json").read_text())
    scopes = summary["scopes"]["experiments"][experiment]["scopes"]
    counts = {}
    for phase, scope in scopes.items():
        slis = scope["slis"]
        got = {o: round((slis.get(f"{o}_ratio") or 0.0) * slis["requests"]) for o in OUTCOMES}
        counts[phase] = {o: n for o, n in got.items() if n}
    return counts


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", [_gate_param(c) for c in GATE_CASES])
def test_the_gate_fails_where_it_should(
    case: GateCase, agents: dict[bool, Service], proxy: Service, tmp_path: Path
) -> None:
    """`stampede suite --target url` with examples/helpdesk/slo.yaml, one experiment a run:
    baseline and the 429 storm pass (exit 0); a cut stream fails fault-errors and the lying
    tool no-wrong-answers, each in its fault phase only (exit 1)."""
    agent = agents[case.streaming]
    profile = _url_profile_with(case.experiment)
    assert profile is not None
    runs = tmp_path / "runs"
    done = subprocess.run(
        [str(BIN / "stampede"), "suite", "--target", "url", "--agent-url", agent.url,
         "--metrics-url", f"{agent.url}/metrics", "--fault-url", proxy.url,
         "--fault-token", TOKEN, "--target-profile", str(EXAMPLE / "profile.yaml"),
         "--cases", str(EXAMPLE / "cases.yaml"), "--slo", str(EXAMPLE / "slo.yaml"),
         "--profile", profile, "--experiments", case.experiment,
         "--runs-dir", str(runs), "--run-id", case.experiment],
        capture_output=True, text=True, cwd=ROOT, timeout=280,
        env={**os.environ, "STAMPEDE_STATE_DIR": str(tmp_path / "state"),
             "STAMPEDE_FAULT_WINDOW_S": "8"},
    )  # fmt: skip
    output = done.stdout + done.stderr
    gate = json.loads((runs / case.experiment / "gate.json").read_text())
    failed = _verdicts(gate, "FAIL")
    phases = _suite_counts(runs / case.experiment, case.experiment)
    print(f"FIGURES suite {case.experiment}: exit {done.returncode}, failed {failed}, {phases}")
    assert done.returncode == (1 if case.fails else 0), output
    assert failed == list(case.fails), failed
    passed = {name for name, _ in _verdicts(gate, "PASS")}
    assert "no-wrong-answers" in passed or case.experiment == "lying-tool", passed
    assert ("fault-free-correct" if case.experiment == "baseline" else "baseline-correct") in passed
    assert proxy_faults(proxy.url) == {}
