"""End to end: `stampede suite --target url` against a real fake agent Stampede did not start.

The agent is tests/fakes/rated_agent.py (a free-text API driven only by a declarative profile and
a case file) with configured rates of wrong, partial, error and shed answers; its metrics are a
second process (tests/stampede/fakes/metrics_page.py) in another agent's series names, read
through the profile's `metrics:` section. One smoke suite (the url catalogue's `baseline`, ~30 s)
must write a complete run directory, a report, and gate with the SLO's exit code.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from stampede import procs
from tests.stampede.fakes import FAKES

REPO = Path(__file__).resolve().parents[2]
RATED = REPO / "tests" / "fakes"
STAMPEDE = Path(sys.executable).parent / "stampede"

METRICS_SECTION = """
metrics:
  breaker_state: {series: other_breaker_open, label: dep, values: {1: 2}}
  retries_total: {series: other_tool_retries_total, label: tool}
  in_flight: {series: other_inflight}
  queue_depth: {series: other_queue_depth}
"""

SLO = """\
version: 1
objectives:
  - name: bounded-wrong
    sli: wrong_ratio
    op: "<="
    threshold: 0.5
  - name: no-wrong-answers
    sli: wrong_ratio
    op: "=="
    threshold: 0
"""


@dataclass
class Agent:
    url: str
    metrics_url: str
    profile: Path
    slo: Path


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[Agent]:
    """The rated fake agent and a metrics page, each on a free port, stopped by PID."""
    config = tmp_path / "rated.json"
    config.write_text(json.dumps({
        "cases": str(RATED / "rated_cases.yaml"), "seed": 3,
        "rates": {"wrong": 0.1, "partial": 0.1, "error": 0.05, "shed": 0.05},
    }))  # fmt: skip
    port, metrics_port = procs.free_port(), procs.free_port()
    agent = procs.spawn(
        procs.uvicorn_command("tests.fakes.rated_agent:app", "--port", str(port)),
        tmp_path / "agent.log",
        env={"RATED_AGENT_CONFIG": str(config)},
        cwd=REPO,
    )
    page = procs.spawn(
        [sys.executable, str(FAKES / "metrics_page.py"), str(metrics_port)],
        tmp_path / "metrics.log",
    )
    try:
        url = f"http://127.0.0.1:{port}"
        procs.wait_http_ok(f"{url}/healthz", agent, what="rated agent")
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        procs.wait_http_ok(metrics_url, page, what="metrics page")
        profile = tmp_path / "rated-with-metrics.yaml"
        profile.write_text((RATED / "rated_profile.yaml").read_text() + METRICS_SECTION)
        slo = tmp_path / "slo.yaml"
        slo.write_text(SLO)
        yield Agent(url, metrics_url, profile, slo)
    finally:
        procs.stop(page)
        procs.stop(agent)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_url_suite_writes_a_complete_run_and_gates_it(agent: Agent, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    done = subprocess.run(
        [str(STAMPEDE), "suite", "--target", "url", "--agent-url", agent.url,
         "--metrics-url", agent.metrics_url, "--profile", str(agent.profile),
         "--cases", str(RATED / "rated_cases.yaml"), "--slo", str(agent.slo),
         "--runs-dir", str(runs), "--run-id", "url-e2e"],
        capture_output=True, text=True, cwd=REPO, timeout=240,
        env={**os.environ, "STAMPEDE_STATE_DIR": str(tmp_path / "state")},
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 1, output  # the gate's code: no-wrong-answers fails
    assert "not primed" in output and "not measured: replicas" in output
    run_dir = runs / "url-e2e"
    record = json.loads((run_dir / "run.json").read_text())
    assert record["target"] == "url" and record["partial"] is False
    assert record["harness_errors"] == [], record["harness_errors"]
    config = record["config"]
    assert config["target_profile"] == str(agent.profile)
    assert config["cases"] == str(RATED / "rated_cases.yaml") and config["case_count"] == 5
    assert config["metric_map"]["name"] == str(agent.profile)
    stack = record["stack"]
    assert stack["capabilities"]["starts_agent"] is False
    assert set(stack["not_measured"]) == {"replicas", "workers_alive", "lost_investigations"}
    assert stack["down_after"] is False
    (experiment,) = record["experiments"]
    assert experiment["name"] == "baseline" and experiment["status"] == "completed"
    assert experiment["checks"]["lost_investigations"] is None
    assert experiment["checks"]["method"].startswith("not measured")
    sampler = experiment["sampler"]
    assert sampler["absent"] == ["queue_depth"], sampler
    assert sampler["failures"] == 0 and sampler["scrapes"] > 5
    samples = _rows(run_dir / "samples.csv")
    metrics = {(r["metric"], r["label"]) for r in samples}
    assert {("breaker_state", "kb"), ("breaker_state", "llm"), ("retries_total", "lookup"),
            ("in_flight", "")} == metrics  # fmt: skip
    assert {r["value"] for r in samples if r["label"] == "kb"} == {"2"}  # 1 (open) -> 2
    requests = _rows(run_dir / "requests.csv")
    assert len(requests) >= 50 and {r["experiment"] for r in requests} == {"baseline"}
    outcomes = {r["outcome"] for r in requests}
    assert {"correct", "wrong", "degraded", "error", "shed"} <= outcomes, outcomes
    assert (run_dir / "report.html").stat().st_size > 1000
    gate = json.loads((run_dir / "gate.json").read_text())
    verdicts = {case["objective"]: case["verdict"] for case in gate["cases"]}
    assert verdicts == {
        "bounded-wrong": "PASS",
        "no-wrong-answers": "FAIL",
        "experiment-verdict": "PASS",
    }
