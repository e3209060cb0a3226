"""The built-in objective `experiment-verdict` and the empty gate, through the real CLI.

Run directories are real (tests/reports/rundir.py writes run.json, requests.csv and journals
shaped like chaostoolkit-lib's); the CLI is `stampede.cli.main` in-process, and once the
installed console script.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from reports.errors import ReportsError
from reports.slo import VERDICT_FAILURES, parse_slo
from tests.reports.rundir import T0, Exp, journal, req, write_run
from tests.reports.test_gate_cli import cli

SLO = """\
version: 1
objectives:
  - name: no-wrong
    sli: wrong_ratio
    op: "=="
    threshold: 0
    scope: {experiment: "*"}
"""
BREACH = "answered_ratio 0.9 < 1.0"


def _live_breach(j: dict[str, Any]) -> dict[str, Any]:
    """Make the journal's after-method probe a live SLO probe that saw 10% unanswered."""
    probe = j["steady_states"]["after"]["probes"][0]
    probe["activity"]["name"] = "investigations-meet-slo"
    probe["output"] = {"met": False, "breaches": 1, "breached": [BREACH], "answered_ratio": 0.9}
    probe["tolerance_met"] = False
    j["steady_states"]["after"]["steady_state_met"] = False
    j["deviated"] = True
    return j


def _run(
    tmp_path: Path,
    *,
    deviated: bool = False,
    status: str = "completed",
    record_status: str | None = None,
    name: str = "run",
) -> Path:
    """One experiment 'kill' (fault [T0+10, T0+20)), every answer correct."""
    method = [("kill-worker", T0 + 10, T0 + 10.2), ("wait", T0 + 10.2, T0 + 20)]
    j = journal(T0, T0 + 40, method)
    if deviated:
        _live_breach(j)
    j["status"] = status
    rows = [req(T0 + s / 2, experiment="kill") for s in range(80)]
    run = write_run(tmp_path / name, [Exp("kill", T0, T0 + 40, j)], rows)
    if record_status is not None:
        data = json.loads((run / "run.json").read_text())
        data["experiments"][0]["status"] = record_status
        (run / "run.json").write_text(json.dumps(data))
    return run


def _slo(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "slo.yaml"
    path.write_text(SLO + extra)
    return path


def _rows(out: str) -> list[list[str]]:
    return [line.split() for line in out.splitlines()]


def test_a_deviated_experiment_fails_experiment_verdict_and_shows_the_breach(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _run(tmp_path, deviated=True)
    code, out, err = cli(["gate", str(run), "--slo", str(_slo(tmp_path))], monkeypatch, capsys)
    assert code == 1, out + err
    assert ["no-wrong", "kill/all", "0", "==", "0", "PASS"] in _rows(out)
    assert ["experiment-verdict", "kill/all", "false", "==", "true", "FAIL"] in _rows(out)
    line = f"live SLO breach: kill (investigations-meet-slo, after the method): {BREACH}"
    assert line in out.splitlines()
    assert "gate: FAIL (1 PASS, 1 FAIL, 0 N/A, 0 SKIP)" in out

    suite = ET.parse(run / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "1"
    (case,) = [c for c in suite.findall("testcase") if c.get("name", "").startswith("exp")]
    assert case.get("name") == "experiment-verdict [kill/all]"
    assert case.get("classname") == "slo.kill"
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message") == (
        "journal chaos/kill/journal.json: completed but deviated "
        f"(investigations-meet-slo: {BREACH})"
    )
    gate = json.loads((run / "gate.json").read_text())
    (verdict,) = [c for c in gate["cases"] if c["builtin"]]
    assert (verdict["objective"], verdict["verdict"], verdict["value"]) == (
        "experiment-verdict",
        "FAIL",
        False,
    )
    (exp,) = gate["experiments"]
    assert exp["outcome"] == "deviated" and exp["breaches"][0]["text"] == BREACH
    md = (run / "summary.md").read_text()
    assert "- **experiment-verdict** [kill/all]: journal chaos/kill/journal.json" in md
    assert f"## Journal breaches\n\n- {line}" in md


def test_a_completed_experiment_passes_experiment_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _run(tmp_path)
    code, out, _ = cli(["gate", str(run), "--slo", str(_slo(tmp_path))], monkeypatch, capsys)
    assert code == 0
    assert ["experiment-verdict", "kill/all", "true", "==", "true", "PASS"] in _rows(out)
    assert "breach" not in out


@pytest.mark.parametrize(
    ("status", "record_status", "message"),
    [
        ("failed", None, "journal chaos/kill/journal.json: status failed"),
        ("aborted", None, "journal chaos/kill/journal.json: status aborted"),
        ("interrupted", None, "journal chaos/kill/journal.json: status interrupted"),
        (
            "completed",
            "interrupted",
            "journal chaos/kill/journal.json: status completed, but the suite was interrupted "
            "(run.json)",
        ),
        ("running", None, "journal chaos/kill/journal.json: status running"),
    ],
    ids=["failed", "aborted", "interrupted", "suite-interrupted", "unknown-status"],
)
def test_failed_aborted_interrupted_fail_experiment_verdict(
    tmp_path: Path,
    status: str,
    record_status: str | None,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = _run(tmp_path, status=status, record_status=record_status)
    code, out, _ = cli(["gate", str(run), "--slo", str(_slo(tmp_path))], monkeypatch, capsys)
    assert code == 1, out
    gate = json.loads((run / "gate.json").read_text())
    (verdict,) = [c for c in gate["cases"] if c["builtin"]]
    assert (verdict["verdict"], verdict["message"]) == ("FAIL", message)


def test_experiment_verdict_can_be_switched_off_but_the_breach_is_still_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _run(tmp_path, deviated=True)
    slo = _slo(tmp_path, "builtin:\n  experiment_verdict: false\n")
    code, out, _ = cli(["gate", str(run), "--slo", str(slo)], monkeypatch, capsys)
    assert code == 0, out
    assert "experiment-verdict" not in out
    assert f"live SLO breach: kill (investigations-meet-slo, after the method): {BREACH}" in out
    suite = ET.parse(run / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "1"


def test_experiment_verdict_can_be_narrowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """fail_on without `deviated`: a deviation is SKIP (said why), an abort still fails."""
    narrowed = (
        "builtin:\n  experiment_verdict:\n    fail_on: [failed, aborted, interrupted]\n"
        "    experiment: [kill, other]\n"
    )
    slo = _slo(tmp_path, narrowed)
    run = _run(tmp_path, deviated=True)
    code, out, _ = cli(["gate", str(run), "--slo", str(slo)], monkeypatch, capsys)
    assert code == 0, out
    assert ["experiment-verdict", "kill/all", "false", "==", "true", "SKIP"] in _rows(out)
    assert ["experiment-verdict", "other/all", "null", "==", "true", "N/A"] in _rows(out)
    gate = json.loads((run / "gate.json").read_text())
    skipped = next(c for c in gate["cases"] if c["builtin"] and c["verdict"] == "SKIP")
    assert skipped["message"].endswith("not judged (fail_on: failed, aborted, interrupted)")
    aborted = _run(tmp_path, status="aborted", name="aborted")
    code, out, _ = cli(["gate", str(aborted), "--slo", str(slo)], monkeypatch, capsys)
    assert code == 1, out


def test_no_journal_fails_unless_missing_skip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [req(T0 + s, experiment="kill") for s in range(40)]
    run = write_run(tmp_path / "run", [Exp("kill", T0, T0 + 40, None)], rows)
    code, out, _ = cli(["gate", str(run), "--slo", str(_slo(tmp_path))], monkeypatch, capsys)
    assert code == 1
    assert ["experiment-verdict", "kill/all", "null", "==", "true", "FAIL"] in _rows(out)
    skip = _slo(tmp_path, "builtin: {experiment_verdict: {missing: skip}}\n")
    code, out, _ = cli(["gate", str(run), "--slo", str(skip)], monkeypatch, capsys)
    assert code == 0, out


def test_an_empty_gate_exits_2_unless_allow_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """run.json without experiments: nothing of the SLO file applies -> exit 2, one line."""
    run = write_run(tmp_path / "run", [], [])
    slo = _slo(tmp_path)
    code, out, err = cli(["gate", str(run), "--slo", str(slo)], monkeypatch, capsys)
    assert code == 2
    assert err == (
        f"stampede: error: no objective of {slo} applied to this run (0 PASS, 0 FAIL, 2 N/A, "
        "0 SKIP): nothing was judged; pass --allow-empty to accept that (exit 0)\n"
    )
    assert "gate: EMPTY (0 PASS, 0 FAIL, 2 N/A, 0 SKIP)" in out
    assert json.loads((run / "gate.json").read_text())["verdict"] == "EMPTY"
    args = ["gate", str(run), "--slo", str(slo), "--allow-empty"]
    code, out, err = cli(args, monkeypatch, capsys)
    assert (code, err) == (0, "")
    assert "gate: PASS (0 PASS, 0 FAIL, 2 N/A, 0 SKIP)" in out


def test_only_the_builtin_applying_is_still_an_empty_gate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An SLO file naming experiments this run lacks: experiment-verdict alone is not a gate."""
    slo = tmp_path / "other.yaml"
    slo.write_text(SLO.replace('experiment: "*"', "experiment: elsewhere"))
    code, out, err = cli(["gate", str(_run(tmp_path)), "--slo", str(slo)], monkeypatch, capsys)
    assert code == 2, out
    assert "(1 PASS, 0 FAIL, 1 N/A, 0 SKIP)" in err


def test_console_script_deviated_exit_1_and_empty_exit_2(tmp_path: Path) -> None:
    """The installed `stampede` script, as CI calls it."""
    exe = Path(sys.executable).parent / "stampede"
    if not exe.exists():
        pytest.skip(f"console script not installed at {exe}: run make setup")
    slo = _slo(tmp_path)
    deviated = _run(tmp_path, deviated=True)
    empty = write_run(tmp_path / "empty", [], [])
    done = [
        subprocess.run(
            [str(exe), "gate", str(run), "--slo", str(slo)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        for run in (deviated, empty)
    ]
    assert done[0].returncode == 1, done[0].stderr
    assert "experiment-verdict  kill/all" in done[0].stdout
    assert done[1].returncode == 2, done[1].stderr
    assert len(done[1].stderr.strip().splitlines()) == 1
    assert "Traceback" not in done[1].stderr


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("builtin: {verdict: false}\n", "builtin.verdict: unknown built-in objective"),
        (
            "builtin: {experiment_verdict: {fail_on: [deviated, late]}}\n",
            "builtin.experiment_verdict.fail_on: expected a list of " + ", ".join(VERDICT_FAILURES),
        ),
        (
            "builtin: {experiment_verdict: {enable: false}}\n",
            "builtin.experiment_verdict.enable: unknown key",
        ),
        (
            "  - {name: experiment-verdict, sli: requests, op: '>', threshold: 0}\n",
            "objectives[1].name: 'experiment-verdict' is the built-in objective's name",
        ),
    ],
    ids=["unknown-builtin", "bad-fail-on", "typo", "reserved-name"],
)
def test_builtin_errors_name_line_and_field(extra: str, expected: str) -> None:
    with pytest.raises(ReportsError) as info:
        parse_slo(SLO + extra)
    assert expected in str(info.value)
    assert str(info.value).startswith("slo.yaml:")
