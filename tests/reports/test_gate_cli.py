"""`stampede gate` / `stampede report` through the real entry point: exit codes, files, messages."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from reports.catalogue import SLIS
from reports.gate import run_gate
from stampede.cli import main
from tests.reports.rundir import T0, Exp, journal, req, write_run

SLO = """\
version: 1
objectives:
  - name: no-wrong
    sli: wrong_ratio
    op: "=="
    threshold: 0
    scope: {experiment: "*", phase: "*"}
  - name: fault-errors
    sli: error_ratio
    op: "<="
    threshold: 0.2
    scope: {experiment: kill, phase: fault}
  - name: kill-recovers
    sli: recovery_time_s
    op: "<"
    threshold: 10
    scope: {experiment: [kill, rolling-restart]}
  - name: lost
    sli: lost_investigations
    op: "=="
    threshold: 0
    scope: {experiment: "*"}
    missing: skip
"""
# Cases: no-wrong x 3 phases, fault-errors, kill-recovers x 2 (one N/A), lost (SKIP), and the
# built-in experiment-verdict [kill/all] = 8


def _run(tmp_path: Path, fault_errors: int) -> Path:
    """One experiment 'kill': fault [T0+10, T0+20) with ``fault_errors`` of 10 requests failing."""
    method = [("kill-worker", T0 + 10, T0 + 10.2), ("wait", T0 + 10.2, T0 + 20)]
    exp = Exp("kill", T0, T0 + 40, journal(T0, T0 + 40, method))
    rows = [
        req(T0 + s + i / 4, experiment="kill")
        for s in range(40)
        if not 10 <= s < 20
        for i in range(4)
    ]
    rows += [
        req(T0 + 10 + i, "error" if i < fault_errors else "correct", experiment="kill")
        for i in range(10)
    ]
    return write_run(tmp_path / "run", [exp], rows)


def cli(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """Run `stampede ARGS` through stampede.cli.main in-process; return (exit code, out, err)."""
    monkeypatch.setattr(sys, "argv", ["stampede", *args])
    with pytest.raises(SystemExit) as info:
        main()
    out, err = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 1), out, err


@pytest.fixture
def slo_file(tmp_path: Path) -> Path:
    path = tmp_path / "slo.yaml"
    path.write_text(SLO)
    return path


def test_gate_passes_and_writes_junit_summary_and_gate_json(
    tmp_path: Path,
    slo_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = _run(tmp_path, fault_errors=1)
    code, out, _ = cli(["gate", str(run), "--slo", str(slo_file)], monkeypatch, capsys)
    assert code == 0
    assert "gate: PASS (6 PASS, 0 FAIL, 1 N/A, 1 SKIP)" in out
    rows = [line.split() for line in out.splitlines()]
    assert ["kill-recovers", "rolling-restart/all", "null", "<", "10", "N/A"] in rows

    suite = ET.parse(run / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert len(cases) == 8
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("8", "0", "2")
    skipped = [c for c in cases if c.find("skipped") is not None]
    assert {c.get("name") for c in skipped} == {
        "kill-recovers [rolling-restart/all]",
        "lost [kill/all]",
    }

    gate = json.loads((run / "gate.json").read_text())
    assert gate["exit_code"] == 0 and gate["verdict"] == "PASS"
    first = gate["cases"][0]
    assert {
        k: first[k] for k in ("objective", "sli", "scope", "value", "threshold", "verdict")
    } == {
        "objective": "no-wrong",
        "sli": "wrong_ratio",
        "scope": {"experiment": "kill", "phase": "baseline"},
        "value": 0.0,
        "threshold": 0.0,
        "verdict": "PASS",
    }
    md = (run / "summary.md").read_text()
    assert md.startswith("# SLO gate: PASS\n")
    assert "| ✅ | fault-errors | kill/fault | 0.1 | `<= 0.2` | PASS |" in md
    assert "## Violations" not in md


def test_gate_fails_with_exit_1_and_junit_failures(
    tmp_path: Path,
    slo_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = _run(tmp_path, fault_errors=5)
    junit, summary = tmp_path / "out" / "j.xml", tmp_path / "out" / "s.md"
    code, out, _ = cli(
        [
            "gate",
            str(run),
            "--slo",
            str(slo_file),
            "--junit",
            str(junit),
            "--summary",
            str(summary),
        ],
        monkeypatch,
        capsys,
    )
    assert code == 1
    assert ["fault-errors", "kill/fault", "0.5", "<=", "0.2", "FAIL"] in [
        r.split() for r in out.splitlines()
    ]
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "1"
    failure = suite.find("testcase/failure")
    assert failure is not None
    assert failure.get("message") == "error_ratio = 0.5 in kill/fault, expected <= 0.2"
    md = summary.read_text()
    assert md.startswith("# SLO gate: FAIL\n")
    assert "- **fault-errors** [kill/fault]: error_ratio = 0.5 in kill/fault, expected <= 0.2" in md
    assert not (run / "junit.xml").exists()


def test_run_gate_api(tmp_path: Path, slo_file: Path) -> None:
    result = run_gate(_run(tmp_path, fault_errors=5), slo_file, write=False)
    assert result.exit_code == 1 and not result.passed
    assert [c.verdict for c in result.cases] == [
        "PASS",
        "PASS",
        "PASS",
        "FAIL",
        "PASS",
        "N/A",
        "SKIP",
        "PASS",
    ]
    assert result.table_text.splitlines()[-1] == "gate: FAIL (5 PASS, 1 FAIL, 1 N/A, 1 SKIP)"
    assert result.paths == {}


@pytest.mark.parametrize(
    ("slo_text", "expected"),
    [
        (
            SLO.replace('op: "<="', 'op: "=<"'),
            "{slo}:10: objectives[1].op: '=<' is not one of <, <=, >, >=, ==, !=",
        ),
        (
            SLO.replace("sli: wrong_ratio", "sli: wrong_answers"),
            "{slo}:4: objectives[0].sli: unknown SLI 'wrong_answers' (known: "
            + ", ".join(SLIS)
            + ")",
        ),
        (
            SLO.replace("    threshold: 10\n", "    threshold: 10\n   oops: 1\n"),
            "{slo}:17: invalid YAML: expected <block end>, but found '<block mapping start>' "
            "(while parsing a block collection)",
        ),
    ],
    ids=["bad-operator", "unknown-sli", "yaml-syntax"],
)
def test_malformed_slo_exits_2_with_one_line(
    tmp_path: Path,
    slo_text: str,
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    slo = tmp_path / "slo.yaml"
    slo.write_text(slo_text)
    code, out, err = cli(["gate", str(_run(tmp_path, 0)), "--slo", str(slo)], monkeypatch, capsys)
    assert code == 2
    assert err == f"stampede: error: {expected.format(slo=slo)}\n"
    assert out == ""


def test_bad_run_dirs_exit_2(
    tmp_path: Path,
    slo_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    missing = tmp_path / "missing"
    code, _, err = cli(["gate", str(missing), "--slo", str(slo_file)], monkeypatch, capsys)
    assert (code, err) == (2, f"stampede: error: {missing}: run directory not found\n")
    run = _run(tmp_path, 0)
    (run / "requests.csv").write_text("ts,outcome\n1,correct\n")
    code, _, err = cli(["report", str(run)], monkeypatch, capsys)
    assert code == 2
    assert err.startswith(
        f"stampede: error: {run / 'requests.csv'}: missing columns: latency_ms, name, "
    )
    (run / "run.json").write_text("[1, 2")
    code, _, err = cli(["gate", str(run), "--slo", str(slo_file)], monkeypatch, capsys)
    assert code == 2
    expected = f"{run / 'run.json'}:1: invalid JSON: Expecting ',' delimiter (column 6)"
    assert err == f"stampede: error: {expected}\n"


def test_report_command_writes_report_and_summary(
    tmp_path: Path,
    slo_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = _run(tmp_path, 1)
    out_html = tmp_path / "elsewhere" / "r.html"
    args = ["report", str(run), "--slo", str(slo_file), "--out", str(out_html)]
    code, out, _ = cli(args, monkeypatch, capsys)
    assert code == 0
    assert f"report: {out_html}" in out
    summary = json.loads((run / "summary.json").read_text())
    fault = summary["scopes"]["experiments"]["kill"]["scopes"]["fault"]["slis"]
    assert fault["error_ratio"] == pytest.approx(0.1)
    assert summary["params"]["recovery_sustain_s"] == 5
    html = out_html.read_text()
    assert "kill-recovers" in html
    assert f"{slo_file} (evaluated now, exit code 0)" in html
    assert not (run / "gate.json").exists()


def test_console_script_never_shows_a_traceback(tmp_path: Path, slo_file: Path) -> None:
    """The installed `stampede` script, past the cheap checks (pandas loaded): one line, exit 2."""
    exe = Path(sys.executable).parent / "stampede"
    if not exe.exists():
        pytest.skip(f"console script not installed at {exe}: run make setup")
    run = _run(tmp_path, 0)
    (run / "requests.csv").write_text("ts,latency_ms,outcome\n1,2,correct\n")
    proc = subprocess.run(
        [str(exe), "gate", str(run), "--slo", str(slo_file)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.stderr.startswith(
        f"stampede: error: {run / 'requests.csv'}: missing columns: name, status, tokens, "
    )
    assert len(proc.stderr.strip().splitlines()) == 1
