"""Relative objectives (`threshold: "+10%"`) judged against a baseline run: `gate --baseline`.

Two real run directories (tests/reports/rundir.py): the same experiment, one with a planted
latency regression in its fault phase.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reports.errors import ReportsError
from reports.slo import parse_slo
from tests.reports.rundir import T0, Exp, journal, req, write_run
from tests.reports.test_gate_cli import cli

SLO = """\
version: 1
objectives:
  - name: fault-p95-no-regression
    sli: latency_p95_ms
    op: "<="
    threshold: "+10%"
    scope: {experiment: kill, phase: fault}
  - name: success-no-drop
    sli: success_ratio
    op: ">="
    threshold: "5%"
    scope: {experiment: kill, phase: "*"}
  - name: absolute
    sli: wrong_ratio
    op: "=="
    threshold: 0
"""


def _run(tmp_path: Path, name: str, fault_latency_ms: float) -> Path:
    """Experiment 'kill', fault [T0+10, T0+20): fault requests take ``fault_latency_ms``."""
    method = [("kill-worker", T0 + 10, T0 + 10.2), ("wait", T0 + 10.2, T0 + 20)]
    exp = Exp("kill", T0, T0 + 40, journal(T0, T0 + 40, method))
    rows = [
        req(T0 + s / 2, latency_ms=fault_latency_ms if 21 <= s < 39 else 100.0, experiment="kill")
        for s in range(80)
    ]
    return write_run(tmp_path / name, [exp], rows)


@pytest.fixture
def slo(tmp_path: Path) -> Path:
    path = tmp_path / "slo.yaml"
    path.write_text(SLO)
    return path


TARGET = "<= 1100 (baseline 1000 +10%)"


def test_a_planted_regression_fails_against_the_baseline(
    tmp_path: Path, slo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    base = _run(tmp_path, "base", 1000.0)
    slow = _run(tmp_path, "slow", 1500.0)
    args = ["gate", str(slow), "--slo", str(slo), "--baseline", str(base)]
    code, out, err = cli(args, monkeypatch, capsys)
    assert code == 1, out + err
    row = f"fault-p95-no-regression  kill/fault     1500   {TARGET}  FAIL"
    assert row in out
    gate = json.loads((slow / "gate.json").read_text())
    assert gate["baseline_run_dir"] == str(base)
    case = gate["cases"][0]
    assert (case["relative"], case["baseline_value"]) == ("+10%", 1000.0)
    assert case["threshold"] == pytest.approx(1100.0)
    assert case["message"] == (
        "latency_p95_ms = 1500 in kill/fault, expected <= 1100 (baseline 1000 +10%)"
    )
    # unsigned "5%" with >= is the tolerant direction: value >= baseline * 0.95
    success = [c for c in gate["cases"] if c["objective"] == "success-no-drop"]
    assert [(c["scope_label"], c["threshold"], c["verdict"]) for c in success] == [
        ("kill/baseline", pytest.approx(0.95), "PASS"),
        ("kill/fault", pytest.approx(0.95), "PASS"),
        ("kill/recovery", pytest.approx(0.95), "PASS"),
    ]


def test_a_run_within_ten_percent_of_its_baseline_passes(
    tmp_path: Path, slo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    base = _run(tmp_path, "base", 1000.0)
    again = _run(tmp_path, "again", 1050.0)  # +5%: within +10%
    args = ["gate", str(again), "--slo", str(slo), "--baseline", str(base)]
    code, out, _ = cli(args, monkeypatch, capsys)
    assert code == 0, out
    row = f"fault-p95-no-regression  kill/fault     1050   {TARGET}  PASS"
    assert row in out


def test_relative_objectives_without_baseline_exit_2(
    tmp_path: Path, slo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _run(tmp_path, "run", 1000.0)
    code, out, err = cli(["gate", str(run), "--slo", str(slo)], monkeypatch, capsys)
    assert (code, out) == (2, "")
    assert err == (
        f"stampede: error: {slo}:3: objectives[0].threshold: '+10%' is relative to a baseline "
        "run: give one with --baseline RUN_DIR\n"
    )


def test_the_baseline_run_dir_is_validated(
    tmp_path: Path, slo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _run(tmp_path, "run", 1000.0)
    missing = tmp_path / "nowhere"
    args = ["gate", str(run), "--slo", str(slo), "--baseline", str(missing)]
    code, _, err = cli(args, monkeypatch, capsys)
    assert (code, err) == (2, f"stampede: error: {missing}: run directory not found\n")
    broken = _run(tmp_path, "broken", 1000.0)
    (broken / "requests.csv").write_text("ts,outcome\n1,correct\n")
    args = ["gate", str(run), "--slo", str(slo), "--baseline", str(broken)]
    code, _, err = cli(args, monkeypatch, capsys)
    assert code == 2
    assert err.startswith(f"stampede: error: {broken / 'requests.csv'}: missing columns: ")


def test_a_scope_the_baseline_lacks_is_a_missing_value(
    tmp_path: Path, slo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _run(tmp_path, "run", 1000.0)
    other = write_run(tmp_path / "other", [], [req(T0)])
    args = ["gate", str(run), "--slo", str(slo), "--baseline", str(other)]
    code, _, _ = cli(args, monkeypatch, capsys)
    assert code == 1
    gate = json.loads((run / "gate.json").read_text())
    case = gate["cases"][0]
    assert (case["verdict"], case["threshold"], case["baseline_value"]) == ("FAIL", None, None)
    assert case["message"] == "the baseline run has no scope kill/fault (missing: fail)"


@pytest.mark.parametrize(
    ("threshold", "op", "expected"),
    [
        ('"+10%"', "==", "a relative threshold needs <, <=, > or >=, not =="),
        ('"ten%"', "<=", "expected a number or a percentage of the baseline ('+10%')"),
        ('"-100%"', "<=", "'-100%' would make the threshold zero or negative"),
    ],
    ids=["equality", "not-a-percentage", "minus-100"],
)
def test_bad_relative_thresholds(threshold: str, op: str, expected: str) -> None:
    text = f"objectives:\n  - {{sli: latency_p95_ms, op: '{op}', threshold: {threshold}}}\n"
    with pytest.raises(ReportsError) as info:
        parse_slo(text)
    assert str(info.value).startswith("slo.yaml:2: objectives[0].threshold: ")
    assert expected in str(info.value)


def test_relative_fractions_and_names() -> None:
    slo = parse_slo(
        "objectives:\n"
        "  - {sli: latency_p95_ms, op: '<', threshold: '+2.5%'}\n"
        "  - {sli: success_ratio, op: '>=', threshold: '-1%'}\n"
        "  - {sli: goodput_rps, op: '>', threshold: '20 %'}\n"
    )
    got = [(o.name, o.relative, o.threshold) for o in slo.objectives]
    assert got == [
        ("latency_p95_ms < +2.5%", pytest.approx(0.025), None),
        ("success_ratio >= -1%", pytest.approx(-0.01), None),
        ("goodput_rps > -20%", pytest.approx(-0.2), None),
    ]


def test_report_points_relative_objectives_to_the_gate(
    tmp_path: Path, slo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`report --slo` has no baseline: it says to gate first; `report` then shows gate.json."""
    base = _run(tmp_path, "base", 1000.0)
    slow = _run(tmp_path, "slow", 1500.0)
    code, _, err = cli(["report", str(slow), "--slo", str(slo)], monkeypatch, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "has relative objectives ('+10%'), which need a baseline run" in err
    args = ["gate", str(slow), "--slo", str(slo), "--baseline", str(base)]
    assert cli(args, monkeypatch, capsys)[0] == 1
    code, out, _ = cli(["report", str(slow)], monkeypatch, capsys)
    assert code == 0, out
    assert "fault-p95-no-regression" in (slow / "report.html").read_text()
