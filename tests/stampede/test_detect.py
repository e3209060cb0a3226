"""The detection matrix, judged from synthetic run directories (gate.json, run.json, journals)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from stampede import detect
from stampede.cli import app
from stampede.detect import REAL, Expectation
from stampede.errors import InputError
from stampede.suite import SuiteConfig, SuiteOutcome

ROWS = (
    Expectation("no_retries", ("llm-errors",), ("llm-errors-correct",), "why"),
    Expectation("trust_tools", ("lying-tool", "hallucinating-llm"), ("no-wrong-answers",), "why"),
    Expectation("readiness_on_redis", ("redis-outage",), ("live:ready_ratio",), "why", "limit"),
)


def case(objective: str, experiment: str | None, verdict: str, phase: str = "fault") -> dict:
    label = f"{experiment}/{phase}" if experiment else "run"
    return {
        "objective": objective,
        "scope": {"experiment": experiment, "phase": phase if experiment else None},
        "scope_label": label,
        "value": 0.5,
        "verdict": verdict,
    }


def write_run(
    root: Path,
    name: str,
    cases: list[dict[str, Any]],
    experiments: list[str],
    breached: dict[str, list[str]] | None = None,
    exit_code: int = 0,
) -> Path:
    """A run directory with gate.json, run.json and a journal per experiment."""
    run_dir = root / name
    run_dir.mkdir(parents=True)
    (run_dir / "gate.json").write_text(json.dumps({"cases": cases, "exit_code": exit_code}))
    run: dict[str, list[dict[str, Any]]] = {"experiments": []}
    for exp in experiments:
        found = (breached or {}).get(exp, [])
        journal = {
            "status": "completed",
            "deviated": bool(found),
            "steady_states": {
                "after": {
                    "probes": [
                        {"activity": {"name": "agent-is-ready"}, "output": True},
                        {
                            "activity": {"name": "the-fault-window-met-the-slo"},
                            "output": {"breaches": len(found), "breached": found},
                        },
                    ]
                }
            },
        }
        (run_dir / "chaos" / exp).mkdir(parents=True)
        (run_dir / "chaos" / exp / "journal.json").write_text(json.dumps(journal))
        run["experiments"].append(
            {"name": exp, "journal": f"chaos/{exp}/journal.json", "deviated": bool(found)}
        )
    (run_dir / "run.json").write_text(json.dumps(run))
    return run_dir


def results_for(tmp_path: Path, real_cases: list[dict[str, Any]] | None = None) -> dict:
    """Every weakness caught on its intended SLO; the real agent clean unless told otherwise."""
    return {
        "no_retries": detect.load_result(
            write_run(
                tmp_path,
                "no_retries",
                [case("llm-errors-correct", "llm-errors", "FAIL")],
                ["llm-errors"],
            ),
            1,
        ),
        "trust_tools": detect.load_result(
            write_run(
                tmp_path,
                "trust_tools",
                [
                    case("no-wrong-answers", "lying-tool", "FAIL"),
                    case("no-wrong-answers", "hallucinating-llm", "PASS"),
                ],
                ["lying-tool", "hallucinating-llm"],
            ),
            1,
        ),
        "readiness_on_redis": detect.load_result(
            write_run(
                tmp_path,
                "readiness_on_redis",
                [case("fault-errors", "redis-outage", "PASS")],
                ["redis-outage"],
                {"redis-outage": ["ready_ratio 0.05 < 0.9"]},
            ),
            0,
        ),
        REAL: detect.load_result(
            write_run(
                tmp_path,
                "real",
                real_cases or [case("fault-errors", "llm-errors", "PASS")],
                ["llm-errors", "lying-tool", "hallucinating-llm", "redis-outage"],
            ),
            1 if real_cases else 0,
        ),
    }


def cells_by(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(c["row"], c["experiment"]): c for c in doc["cells"]}


def test_every_weakness_caught_and_the_real_agent_clean_passes(tmp_path: Path) -> None:
    doc = detect.report(ROWS, results_for(tmp_path))
    assert (doc["verdict"], doc["exit_code"], doc["problems"]) == ("pass", 0, [])
    cells = cells_by(doc)
    assert cells[("no_retries", "llm-errors")]["caught_by"] == ["llm-errors-correct"]
    assert cells[("trust_tools", "lying-tool")]["status"] == "caught"
    assert cells[("trust_tools", "hallucinating-llm")]["status"] == "missed"
    assert [w["status"] for w in doc["weaknesses"]] == ["caught", "caught", "caught"]


def test_a_live_readiness_breach_is_a_catch_with_its_local_limit_shown(tmp_path: Path) -> None:
    """readiness_on_redis: no gate objective fails, the journal's readiness SLO does."""
    doc = detect.report(ROWS, results_for(tmp_path))
    cell = cells_by(doc)[("readiness_on_redis", "redis-outage")]
    assert (cell["status"], cell["caught_by"]) == ("caught", ["live:ready_ratio"])
    assert "ready_ratio 0.05 < 0.9" in cell["detail"]
    markdown = detect.to_markdown(doc)
    assert "*Local stack limit:* limit" in markdown


def test_a_weakness_nothing_fails_on_is_missed(tmp_path: Path) -> None:
    results = results_for(tmp_path)
    results["no_retries"] = detect.load_result(
        write_run(
            tmp_path, "missed", [case("llm-errors-correct", "llm-errors", "PASS")], ["llm-errors"]
        ),
        0,
    )
    doc = detect.report(ROWS, results)
    assert (doc["verdict"], doc["exit_code"]) == ("fail", 1)
    assert cells_by(doc)[("no_retries", "llm-errors")]["status"] == "missed"
    assert doc["problems"] == ["no_retries: missed (intended: llm-errors-correct)"]


def test_caught_on_another_slo_is_not_a_catch(tmp_path: Path) -> None:
    """trust_tools seen only through latency (not wrong_ratio) does not count."""
    results = results_for(tmp_path)
    results["trust_tools"] = detect.load_result(
        write_run(
            tmp_path,
            "other",
            [case("fault-latency-p95", "lying-tool", "FAIL")],
            ["lying-tool", "hallucinating-llm"],
        ),
        1,
    )
    doc = detect.report(ROWS, results)
    cell = cells_by(doc)[("trust_tools", "lying-tool")]
    assert (cell["status"], cell["failed"], cell["caught_by"]) == (
        "other",
        ["fault-latency-p95"],
        [],
    )
    assert doc["exit_code"] == 1
    assert "trust_tools: other (intended: no-wrong-answers)" in doc["problems"]


def test_a_failure_of_the_real_agent_is_a_false_alarm(tmp_path: Path) -> None:
    results = results_for(tmp_path, [case("no-wrong-answers", "lying-tool", "FAIL")])
    doc = detect.report(ROWS, results)
    cells = cells_by(doc)
    assert cells[(REAL, "lying-tool")]["status"] == "false_alarm"
    assert cells[(REAL, "llm-errors")]["status"] == "pass"
    assert doc["exit_code"] == 1
    assert doc["problems"] == ["real agent / lying-tool: false alarm (no-wrong-answers)"]
    assert "FALSE ALARM: no-wrong-answers" in detect.to_text(doc)


def test_a_deviated_journal_of_the_real_agent_is_a_false_alarm(tmp_path: Path) -> None:
    results = results_for(tmp_path)
    results[REAL] = detect.load_result(
        write_run(tmp_path, "dev", [], ["llm-errors"], {"llm-errors": ["p95 4000 ms > 3000 ms"]})
    )
    doc = detect.report(ROWS, results)
    assert cells_by(doc)[(REAL, "llm-errors")]["failed"] == ["live:p95"]
    assert doc["exit_code"] == 1


def test_a_run_without_gate_is_an_error_not_a_miss(tmp_path: Path) -> None:
    results = results_for(tmp_path)
    broken = tmp_path / "broken"
    broken.mkdir()
    results["no_retries"] = detect.load_result(broken, 2)
    doc = detect.report(ROWS, results)
    assert cells_by(doc)[("no_retries", "llm-errors")]["status"] == "error"
    assert (doc["verdict"], doc["exit_code"]) == ("error", 2)


def test_the_table_names_every_weakness_of_the_agent() -> None:
    from target_agent.agent.settings import WEAKNESSES

    assert [row.weakness for row in detect.EXPECTATIONS] == list(WEAKNESSES)
    by_name = {row.weakness: row for row in detect.EXPECTATIONS}
    assert "no-wrong-answers" in by_name["trust_tools"].objectives  # wrong_ratio, not status
    assert {"retry-budget", "cost-amplification"} >= set(by_name["retry_storm"].objectives)
    for row in detect.EXPECTATIONS:
        for exp in row.experiments:
            assert (Path("experiments/local") / f"{exp}.json").is_file()


def test_intended_gate_objectives_exist_in_the_default_slo_file() -> None:
    import yaml

    slo = yaml.safe_load(Path("slo.yaml").read_text())
    names = {o["name"] for o in slo["objectives"]}
    for row in detect.EXPECTATIONS:
        gate = {o for o in row.objectives if not o.startswith("live:")}
        assert gate <= names, f"{row.weakness}: {gate - names}"


def test_unknown_weakness_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown bogus"):
        detect.expectations_for(["bogus"])


def test_run_detection_runs_one_suite_per_row_and_writes_the_matrix(tmp_path: Path) -> None:
    """Suites are injected: one per weakness with its experiments, one for the real agent."""
    calls: list[tuple[str | None, list[str]]] = []

    def fake_suite(config: SuiteConfig) -> SuiteOutcome:
        assert config.run_id is not None and config.experiments is not None
        calls.append((config.weakness, config.experiments))
        failing = {"no_retries": "llm-errors-correct", "trust_tools": "no-wrong-answers"}
        cases = [
            case(failing[config.weakness], exp, "FAIL")
            for exp in config.experiments
            if config.weakness in failing
        ]
        run_dir = write_run(tmp_path / "runs", config.run_id, cases, config.experiments)
        return SuiteOutcome(run_dir, 1 if cases else 0)

    config = detect.DetectConfig(
        out=tmp_path / "out",
        weaknesses=["no_retries", "trust_tools"],
        state_dir=tmp_path / "state",
        keep_stack=True,
    )
    doc = detect.run_detection(config, say=lambda line: None, run=fake_suite)
    assert calls == [
        ("no_retries", ["llm-errors"]),
        ("trust_tools", ["lying-tool", "hallucinating-llm"]),
        (None, ["llm-errors", "lying-tool", "hallucinating-llm"]),
    ]
    assert doc["exit_code"] == 0
    assert json.loads((tmp_path / "out" / "matrix.json").read_text())["verdict"] == "pass"
    assert "CAUGHT by no-wrong-answers" in (tmp_path / "out" / "matrix.md").read_text()


def test_cli_plan_prints_the_table_and_runs_nothing() -> None:
    result = CliRunner().invoke(app, ["detect", "--plan", "--weaknesses", "retry_storm"])
    assert result.exit_code == 0, result.output
    assert "retry_storm" in result.output and "llm-rate-limit" in result.output
    assert "retry-budget" in result.output


def test_cli_unknown_weakness_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through ``cli.main`` (the console script): one line on stderr, exit 2."""
    from stampede import cli

    monkeypatch.setattr("sys.argv", ["stampede", "detect", "--plan", "--weaknesses", "nope"])
    with pytest.raises(SystemExit) as info:
        cli.main()
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert err.startswith("stampede: error: --weaknesses: unknown nope") and "Traceback" not in err
