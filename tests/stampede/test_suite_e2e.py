"""`stampede suite` end to end: the real local stack, Locust, Chaos Toolkit, report and gate.

One stack (in a temporary state dir) serves the module; the weakened agent runs last because
switching the weakness restarts the stack. Slow: each test runs at least one real experiment.
"""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stampede import procs, rundir

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
STAMPEDE = str(Path(sys.executable).parent / "stampede")


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A state dir for this module's stack; whatever runs in it is stopped at the end."""
    path = tmp_path_factory.mktemp("suite-stack")
    yield path
    from stampede import stack

    stack.down(path)


def suite_cmd(state_dir: Path, runs_dir: Path, run_id: str, *extra: str) -> list[str]:
    return [
        STAMPEDE,
        "suite",
        "--target",
        "local",
        "--profile",
        "smoke",
        "--slo",
        "slo.yaml",
        "--state-dir",
        str(state_dir),
        "--runs-dir",
        str(runs_dir),
        "--run-id",
        run_id,
        "--keep-stack",
        *extra,
    ]


def run_suite(cmd: list[str], timeout_s: float) -> tuple[int, str]:
    done = subprocess.run(
        cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout_s, check=False
    )
    return done.returncode, done.stdout + done.stderr


def gate_cases(run_dir: Path) -> list[dict[str, object]]:
    data = json.loads((run_dir / "gate.json").read_text())
    return list(data["cases"])


def assert_contract(run_dir: Path, experiments: list[str]) -> dict[str, object]:
    """The run directory holds what docs/contracts.md says, and the counts agree."""
    run = json.loads((run_dir / "run.json").read_text())
    for key in ("run_id", "target", "profile", "git_sha", "versions", "config", "started_at",
                "ended_at", "agent", "experiments"):  # fmt: skip
        assert key in run, key
    assert run["partial"] is False
    assert [e["name"] for e in run["experiments"]] == experiments
    with (run_dir / "requests.csv").open(newline="") as handle:
        requests = list(csv.DictReader(handle))
    assert requests and list(requests[0]) == list(rundir.REQUESTS_COLUMNS)
    ts = [float(r["ts"]) for r in requests]
    assert ts == sorted(ts)
    for exp in run["experiments"]:
        name = exp["name"]
        assert exp["status"] == "completed", exp
        assert (run_dir / "chaos" / name / "journal.json").is_file()
        assert (run_dir / "locust" / f"{name}_stats.csv").is_file()
        assert (run_dir / "locust" / f"{name}.html").is_file()
        own = sum(1 for r in requests if r["experiment"] == name)
        assert own == exp["locust"]["requests"], (name, own, exp["locust"])
        assert isinstance(exp["checks"]["lost_investigations"], int)
    assert len(requests) == run["requests"]["locust_total"]
    with (run_dir / "samples.csv").open(newline="") as handle:
        samples = list(csv.DictReader(handle))
    metrics = {s["metric"] for s in samples}
    assert {"breaker_state", "requests_total", "in_flight", "workers_alive"} <= metrics
    for name in ("report.html", "summary.json", "junit.xml", "summary.md", "gate.json"):
        assert (run_dir / name).is_file(), name
    return run


# Timing under load on 2 shared cores: one rerun, visible as "R" and "rerun" in pytest's summary
# (never a silent pass); a second failure fails the run.
@pytest.mark.flaky(reruns=1, reruns_delay=5)
@pytest.mark.timeout(600)
def test_smoke_suite_passes_the_reference_agent(state_dir: Path, tmp_path: Path) -> None:
    """Reference agent, whole smoke profile: gate exit 0 and a complete run directory."""
    started = time.monotonic()
    code, out = run_suite(suite_cmd(state_dir, tmp_path, "smoke-ref"), timeout_s=540)
    elapsed = time.monotonic() - started
    run_dir = tmp_path / "smoke-ref"
    failing = [c for c in gate_cases(run_dir) if c["verdict"] == "FAIL"] if code == 1 else []
    assert code == 0, f"{out}\nfailing: {failing}"
    assert_contract(run_dir, ["replica-kill", "tool-latency", "redis-outage"])
    assert "experiment 3/3 redis-outage" in out and "gate: exit 0" in out
    print(f"smoke suite wall time {elapsed:.0f} s")


@pytest.mark.timeout(300)
def test_ctrl_c_mid_fault_rolls_back_and_leaves_a_partial_run(
    state_dir: Path, tmp_path: Path
) -> None:
    """SIGINT while Redis is stopped: Redis comes back (rollback), no toolbox fault, exit 130."""
    proc = subprocess.Popen(
        suite_cmd(state_dir, tmp_path, "interrupted", "--experiments", "redis-outage"),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "chaos started" in line:
            break
    stack_state = json.loads((state_dir / "stack.json").read_text())
    redis = stack_state["redis"]
    deadline = time.monotonic() + 60
    while procs.redis_ping(redis["host"], redis["port"], password=redis.get("password")):
        assert time.monotonic() < deadline, "".join(lines)
        time.sleep(0.2)
    time.sleep(1)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 130, "".join(lines) + out
    assert procs.redis_ping(redis["host"], redis["port"], password=redis.get("password"))
    toolbox = stack_state["toolbox"]["url"]
    faults = httpx.get(
        f"{toolbox}/faults",
        headers={"Authorization": f"Bearer {stack_state['admin_token']}"},
        timeout=5,
        trust_env=False,
    ).json()
    assert faults["faults"] == {}
    ready = httpx.get(f"{stack_state['agent']['url']}/readyz", timeout=5, trust_env=False)
    assert ready.status_code == 200
    run_dir = tmp_path / "interrupted"
    run = json.loads((run_dir / "run.json").read_text())
    assert run["partial"] is True
    assert run["experiments"][0]["status"] == "interrupted"
    journal = json.loads((run_dir / "chaos" / "redis-outage" / "journal.json").read_text())
    assert journal["status"] == "interrupted" and journal["rollbacks"]
    with (run_dir / "requests.csv").open(newline="") as handle:
        assert list(csv.DictReader(handle))


# Timing under load on 2 shared cores: one rerun, visible as "R" and "rerun" in pytest's summary
# (never a silent pass); a second failure fails the run.
@pytest.mark.flaky(reruns=1, reruns_delay=5)
@pytest.mark.timeout(420)
def test_no_breaker_agent_fails_a_tool_latency_fault_latency_objective(
    state_dir: Path, tmp_path: Path
) -> None:
    """Without a breaker every call to the slow tool waits out its timeout: a fault-phase
    latency objective of tool-latency fails (gate exit 1). The only other objective allowed to
    fail is the retry budget of that same phase (without a breaker every request also retries
    the slow tool); nothing fails outside tool-latency's fault phase."""
    code, out = run_suite(
        suite_cmd(
            state_dir, tmp_path, "no-breaker", "--weakness", "no_breaker",
            "--experiments", "tool-latency",
        ),
        timeout_s=360,
    )  # fmt: skip
    run_dir = tmp_path / "no-breaker"
    assert code == 1, out
    run = json.loads((run_dir / "run.json").read_text())
    assert run["agent"]["weakness"] == "no_breaker"
    assert run["stack"]["action"].startswith("restarted")
    failing = [c for c in gate_cases(run_dir) if c["verdict"] == "FAIL"]
    latency = ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms")
    assert any(c["sli"] in latency for c in failing), out
    for case in failing:
        if case["objective"] == "experiment-verdict":  # the live p50 probe deviated the journal
            assert case["scope"] == {"experiment": "tool-latency", "phase": "all"}, case
            continue
        assert case["sli"] in (*latency, "retries_per_request"), case
        assert case["scope"] == {"experiment": "tool-latency", "phase": "fault"}, case
