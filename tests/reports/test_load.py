"""Malformed run directories: one-line ReportsError naming the file, line or field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reports.errors import ReportsError
from reports.load import load
from tests.reports.rundir import T0, Exp, journal, req, write_run


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    method = [("inject", T0 + 10, T0 + 11), ("clear", T0 + 19, T0 + 20)]
    exp = Exp("exp", T0, T0 + 30, journal(T0, T0 + 30, method))
    return write_run(tmp_path / "run", [exp], [req(T0 + 1), req(T0 + 2)])


def _error(run_dir: Path) -> str:
    with pytest.raises(ReportsError) as info:
        load(run_dir)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_a_valid_run_loads(run_dir: Path) -> None:
    frames = load(run_dir)
    assert len(frames.requests) == 2
    assert frames.experiments[0].name == "exp"
    assert frames.journals["exp"] is not None


def test_missing_run_dir(tmp_path: Path) -> None:
    assert _error(tmp_path / "nope") == f"{tmp_path / 'nope'}: run directory not found"


def test_missing_requests_csv(run_dir: Path) -> None:
    (run_dir / "requests.csv").unlink()
    assert _error(run_dir) == (
        f"{run_dir / 'requests.csv'}: file not found (every run directory has requests.csv)"
    )


def test_requests_csv_missing_columns_are_named(run_dir: Path) -> None:
    (run_dir / "requests.csv").write_text(
        "ts,latency_ms,name,status,outcome,tokens\n1,2,a,200,correct,3\n"
    )
    assert _error(run_dir) == (
        f"{run_dir / 'requests.csv'}: missing columns: cost_usd, retries, replica, experiment, "
        "error (expected ts,latency_ms,name,status,outcome,tokens,cost_usd,retries,replica,"
        "experiment,error)"
    )


def test_requests_csv_bad_number_names_the_line(run_dir: Path) -> None:
    lines = (run_dir / "requests.csv").read_text().splitlines()
    lines[2] = lines[2].replace(str(T0 + 2), "soon", 1)
    (run_dir / "requests.csv").write_text("\n".join(lines) + "\n")
    assert _error(run_dir) == f"{run_dir / 'requests.csv'}:3: ts: 'soon' is not a number"


def test_requests_csv_bad_outcome_names_the_line_even_after_quoted_newlines(run_dir: Path) -> None:
    text = (run_dir / "requests.csv").read_text().splitlines()
    text[1] = text[1].rsplit(",", 1)[0] + ',"multi\nline error"'
    text[2] = text[2].replace(",correct,", ",timeout,")
    (run_dir / "requests.csv").write_text("\n".join(text) + "\n")
    assert _error(run_dir) == (
        f"{run_dir / 'requests.csv'}:4: outcome: 'timeout' is not one of correct, degraded, "
        "wrong, shed, error, unjudged"
    )


def test_empty_requests_csv(run_dir: Path) -> None:
    (run_dir / "requests.csv").write_text("")
    assert _error(run_dir).endswith(
        "requests.csv: empty file (expected a header line: "
        "ts,latency_ms,name,status,outcome,tokens,cost_usd,retries,"
        "replica,experiment,error)"
    )


def test_header_only_requests_csv_is_a_run_without_requests(run_dir: Path) -> None:
    (run_dir / "requests.csv").write_text(
        (run_dir / "requests.csv").read_text().splitlines()[0] + "\n"
    )
    assert len(load(run_dir).requests) == 0


def test_run_json_syntax_error_names_the_line(run_dir: Path) -> None:
    (run_dir / "run.json").write_text('{\n  "run_id": "x",\n  "target" "local"\n}\n')
    assert _error(run_dir) == (
        f"{run_dir / 'run.json'}:3: invalid JSON: Expecting ':' delimiter (column 12)"
    )


def test_run_json_bad_field(run_dir: Path) -> None:
    run = json.loads((run_dir / "run.json").read_text())
    run["experiments"][0]["started_at"] = "yesterday"
    (run_dir / "run.json").write_text(json.dumps(run))
    assert _error(run_dir) == (
        f"{run_dir / 'run.json'}: experiments[0].started_at: expected a number (epoch s), "
        "got 'yesterday'"
    )


def test_run_json_missing(run_dir: Path) -> None:
    (run_dir / "run.json").unlink()
    assert _error(run_dir) == f"{run_dir / 'run.json'}: file not found"


def test_samples_csv_wrong_columns(run_dir: Path) -> None:
    (run_dir / "samples.csv").write_text("ts,metric,value\n1,x,2\n")
    assert _error(run_dir) == (
        f"{run_dir / 'samples.csv'}: missing columns: experiment, label "
        "(expected ts,experiment,metric,label,value)"
    )


def test_bad_journal_timestamp_names_the_field(run_dir: Path) -> None:
    from reports.slis import summarize

    path = run_dir / "chaos" / "exp" / "journal.json"
    data = json.loads(path.read_text())
    data["run"][1]["end"] = "later"
    path.write_text(json.dumps(data))
    with pytest.raises(ReportsError) as info:
        summarize(load(run_dir))
    assert str(info.value) == f"{path}: run[1].end: 'later' is not an ISO-8601 timestamp"
