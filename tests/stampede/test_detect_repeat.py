"""The K-matrix of `stampede detect --repeat K`, from synthetic RunResults (pure, fast)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stampede import detect
from stampede.detect import REAL, Expectation, RunResult
from stampede.suite import SuiteConfig, SuiteOutcome
from tests.stampede.test_detect import case, write_run

ROWS = (
    Expectation("no_retries", ("llm-errors",), ("llm-errors-correct",), "why"),
    Expectation("trust_tools", ("lying-tool", "hallucinating-llm"), ("no-wrong-answers",), "why"),
)
REAL_EXPERIMENTS = ["llm-errors", "lying-tool", "hallucinating-llm"]


def result(failures: dict[str, list[str]] | None = None, problem: str = "") -> RunResult:
    """One suite run: ``failures`` = experiment -> failing gate objectives."""
    r = RunResult("runs/x", 1 if failures else 0, gate_failures=dict(failures or {}))
    r.problem = problem
    return r


def caught() -> dict[str, RunResult]:
    """One repetition in which every weakness is caught and the real agent is clean."""
    return {
        "no_retries": result({"llm-errors": ["llm-errors-correct"]}),
        "trust_tools": result({"lying-tool": ["no-wrong-answers"]}),
        REAL: result(),
    }


def runs(*rounds: dict[str, RunResult]) -> dict[str, list[RunResult | None]]:
    out: dict[str, list[RunResult | None]] = {}
    for one in rounds:
        for name, r in one.items():
            out.setdefault(name, []).append(r)
    return out


def k_cells(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(c["row"], c["experiment"]): c for c in doc["cells"]}


def test_k_of_k_caught_and_the_real_agent_passing_all_k_passes() -> None:
    doc = detect.repeated_report(ROWS, runs(caught(), caught(), caught()))
    assert (doc["repeat"], doc["verdict"], doc["exit_code"], doc["problems"]) == (
        3,
        "pass",
        0,
        [],
    )
    cells = k_cells(doc)
    assert (cells[("no_retries", "llm-errors")]["good"], cells[(REAL, "lying-tool")]["good"]) == (
        3,
        3,
    )
    assert [(w["caught_runs"], w["runs"], w["status"]) for w in doc["weaknesses"]] == [
        (3, 3, "caught"),
        (3, 3, "caught"),
    ]
    text = detect.to_text(doc)
    assert "3/3 caught by llm-errors-correct" in text and "3/3 pass" in text
    assert "detect: PASS (exit 0, K = 3)" in text
    assert len(doc["rounds"]) == 3


def test_a_weakness_missed_in_one_run_of_three_fails() -> None:
    missed = caught() | {"no_retries": result()}
    doc = detect.repeated_report(ROWS, runs(caught(), missed, caught()))
    assert (doc["verdict"], doc["exit_code"]) == ("fail", 1)
    assert doc["problems"] == [
        "no_retries: caught on an intended objective in 2/3 runs (caught, missed, caught; "
        "intended: llm-errors-correct)"
    ]
    cell = k_cells(doc)[("no_retries", "llm-errors")]
    assert (cell["good"], cell["statuses"]) == (2, ["caught", "missed", "caught"])
    assert "2/3 caught by llm-errors-correct; run 2: MISSED" in detect.to_text(doc)
    assert doc["weaknesses"][0]["status"] == "missed"


def test_caught_on_another_slo_in_one_run_does_not_count() -> None:
    other = caught() | {"no_retries": result({"llm-errors": ["fault-latency-p95"]})}
    doc = detect.repeated_report(ROWS, runs(caught(), other))
    assert doc["exit_code"] == 1
    assert doc["weaknesses"][0]["statuses"] == ["caught", "other"]
    markdown = detect.to_markdown(doc)
    assert "1/2 caught by llm-errors-correct; run 2: other SLO" in markdown


def test_a_weakness_caught_by_different_experiments_in_different_runs_is_k_of_k() -> None:
    """The weakness is the unit: lying-tool catches it in run 1, hallucinating-llm in run 2."""
    second = caught() | {"trust_tools": result({"hallucinating-llm": ["no-wrong-answers"]})}
    doc = detect.repeated_report(ROWS, runs(caught(), second))
    assert doc["exit_code"] == 0, doc["problems"]
    cells = k_cells(doc)
    assert cells[("trust_tools", "lying-tool")]["good"] == 1
    assert cells[("trust_tools", "hallucinating-llm")]["good"] == 1
    assert doc["weaknesses"][1]["caught_runs"] == 2


def test_a_false_alarm_of_the_real_agent_in_one_run_fails() -> None:
    alarm = caught() | {REAL: result({"lying-tool": ["experiment-verdict"]})}
    doc = detect.repeated_report(ROWS, runs(caught(), caught(), alarm))
    assert (doc["verdict"], doc["exit_code"]) == ("fail", 1)
    assert doc["problems"] == [
        "real agent / lying-tool: passed 2/3 runs, false alarm in run(s) 3 (experiment-verdict)"
    ]
    text = detect.to_text(doc)
    assert "2/3 pass; run 3: FALSE ALARM; failed: experiment-verdict" in text
    assert text.splitlines()[len(ROWS) + 2].rstrip().endswith("FAIL")  # the real agent's row


def test_an_unjudgeable_run_is_an_error() -> None:
    broken = caught() | {"trust_tools": result(problem="runs/x/gate.json: cannot read")}
    doc = detect.repeated_report(ROWS, runs(caught(), broken))
    assert (doc["verdict"], doc["exit_code"]) == ("error", 2)
    assert doc["problems"][0] == "trust_tools: could not be judged in run(s) 2"


def test_an_interrupted_campaign_leaves_the_missing_runs_as_errors() -> None:
    partial = runs(caught(), caught())
    partial[REAL] = partial[REAL][:1]  # the second real-agent run never happened
    doc = detect.repeated_report(ROWS, partial)
    assert doc["exit_code"] == 2
    cell = k_cells(doc)[(REAL, "llm-errors")]
    assert (cell["statuses"], cell["details"][1]) == (["pass", "error"], "not run")


def test_k_equal_1_is_the_single_matrix() -> None:
    one = caught()
    doc = detect.repeated_report(ROWS, runs(one))
    assert doc == {**detect.report(ROWS, one), "repeat": 1}
    assert "CAUGHT by llm-errors-correct" in detect.to_text(doc)


def test_html_shows_the_k_matrix() -> None:
    missed = caught() | {"no_retries": result()}
    page = detect.to_html(detect.repeated_report(ROWS, runs(caught(), missed)))
    assert page.startswith("<!doctype html>")
    assert "<title>Detection matrix: FAIL (exit 1, K = 2 runs of every suite)</title>" in page
    assert '<td class="bad">1/2 caught by llm-errors-correct; run 2: MISSED</td>' in page
    assert '<td class="good">2/2 pass</td>' in page


def test_run_detection_runs_every_suite_k_times(tmp_path: Path) -> None:
    calls: list[tuple[str | None, str]] = []

    def fake_suite(config: SuiteConfig) -> SuiteOutcome:
        assert config.run_id is not None and config.experiments is not None
        calls.append((config.weakness, config.run_id.rsplit("-", 2)[-2:][-1]))
        cases = (
            [case("llm-errors-correct", "llm-errors", "FAIL")]
            if config.weakness == "no_retries"
            else []
        )
        run_dir = write_run(tmp_path / "runs", config.run_id, cases, config.experiments)
        return SuiteOutcome(run_dir, 1 if cases else 0)

    config = detect.DetectConfig(
        out=tmp_path / "out",
        weaknesses=["no_retries"],
        state_dir=tmp_path / "state",
        keep_stack=True,
        repeat=2,
    )
    doc = detect.run_detection(config, say=lambda line: None, run=fake_suite)
    assert calls == [("no_retries", "1"), ("no_retries", "2"), (None, "1"), (None, "2")]
    assert doc["exit_code"] == 0 and doc["repeat"] == 2
    assert len(doc["seconds_per_run"]["no_retries"]) == 2
    saved = json.loads((tmp_path / "out" / "matrix.json").read_text())
    assert [len(saved["runs"][name]) for name in ("no_retries", REAL)] == [2, 2]
    assert "2/2 caught by llm-errors-correct" in (tmp_path / "out" / "matrix.md").read_text()
    assert "2/2 pass" in (tmp_path / "out" / "matrix.html").read_text()
