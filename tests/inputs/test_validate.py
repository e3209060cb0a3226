"""Valid numbers only: an impossible number in a run directory exits 2 naming file:line:field."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reports.errors import ReportsError
from reports.load import load
from reports.validate import (
    REQUEST_RULES,
    SAMPLE_RULES,
    TEXT_COLUMNS,
    WINDOW_SLACK_S,
    rule_for,
)
from stampede.contract import REQUEST_COLUMNS, SAMPLE_COLUMNS
from tests.inputs.test_rundir_fuzz import _cli
from tests.reports.rundir import T0, Exp, journal, req, write_run

REPO = Path(__file__).resolve().parents[2]
SLO = REPO / "slo.yaml"
BAD_ROW = 7  # the 0-based data row made bad: file line 9 (header = line 1)


def _run(tmp_path: Path, column: str, value: str, *, shuffle: bool = False) -> Path:
    """A valid 20-request run with ``column`` of data row BAD_ROW set to ``value``."""
    method = [("fault", T0 + 5, T0 + 10)]
    exp = Exp("exp", T0, T0 + 20, journal(T0, T0 + 20, method))
    rows: list[dict[str, Any]] = [req(T0 + i) for i in range(20)]
    if shuffle:  # not in ts order in the file: the loaded frame is sorted, the line is not
        rows.reverse()
    rows[BAD_ROW][column] = value
    return write_run(tmp_path / "run", [exp], rows)


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("latency_ms", "inf", "inf is not finite"),
        ("latency_ms", "-inf", "-inf is not finite"),
        ("latency_ms", "nan", "'nan' is not a number"),
        ("latency_ms", "-1", "-1 is not >= 0 (a duration)"),
        ("tokens", "-5", "-5 is not >= 0 (a count)"),
        ("tokens", "2.5", "2.5 is not a whole number (a count)"),
        ("cost_usd", "-0.01", "-0.01 is not >= 0 (a cost)"),
        ("retries", "-1", "-1 is not >= 0 (a count)"),
        ("status", "700", "700 is not 0..599 (an HTTP status, 0 for none)"),
        ("status", "-1", "-1 is not 0..599"),
        ("ts", str(T0 + 86_400), "is outside the run window"),
        ("ts", str(T0 - 3600), "is outside the run window"),
        ("ts", "inf", "inf is not finite"),
    ],
)
def test_an_impossible_request_value_exits_2_naming_file_line_and_field(
    tmp_path: Path, column: str, value: str, problem: str
) -> None:
    run = _run(tmp_path, column, value)
    for command in (["gate", str(run), "--slo", str(SLO)], ["report", str(run)]):
        code, err = _cli(command)
        assert code == 2, err
        assert err.startswith(f"stampede: error: {run / 'requests.csv'}:{BAD_ROW + 2}: {column}: ")
        assert problem in err and err.count("\n") == 1, err


def test_the_line_is_the_file_line_when_the_file_is_not_in_ts_order(tmp_path: Path) -> None:
    run = _run(tmp_path, "latency_ms", "-3", shuffle=True)
    with pytest.raises(ReportsError, match=rf"requests\.csv:{BAD_ROW + 2}: latency_ms: -3 "):
        load(run)


def test_a_timestamp_within_the_slack_is_accepted(tmp_path: Path) -> None:
    run = _run(tmp_path, "ts", str(T0 - 1 - WINDOW_SLACK_S + 5))  # run.json starts at T0 - 1
    assert len(load(run).requests) == 20


def test_empty_cells_are_not_recorded_not_wrong(tmp_path: Path) -> None:
    run = _run(tmp_path, "tokens", "")
    assert np.isnan(load(run).requests["tokens"]).sum() == 1


@pytest.mark.parametrize(
    ("value", "problem"), [("-1", "-1 is not >= 0 (a sampled metric)"), ("inf", "not finite")]
)
def test_an_impossible_sample_exits_2_naming_file_line_and_field(
    tmp_path: Path, value: str, problem: str
) -> None:
    run = _run(tmp_path, "latency_ms", "100")
    rows = [
        {"ts": T0 + i, "experiment": "exp", "metric": "in_flight", "label": "", "value": 1}
        for i in range(5)
    ]
    rows[3]["value"] = value
    lines = ["ts,experiment,metric,label,value"] + [",".join(map(str, r.values())) for r in rows]
    (run / "samples.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(ReportsError) as info:
        load(run)
    assert str(info.value).startswith(f"{run / 'samples.csv'}:5: value: ")
    assert problem in str(info.value)


def _users(run: dict[str, Any]) -> None:
    run["experiments"][0]["load"]["users"] = -4


def _lost(run: dict[str, Any]) -> None:
    run["experiments"][0]["checks"] = {"lost_investigations": -1}


def _config(run: dict[str, Any]) -> None:
    run["config"]["rate"] = float("inf")


def _early(run: dict[str, Any]) -> None:
    run["experiments"][0]["started_at"] = T0 - 86_400


@pytest.mark.parametrize(
    ("edit", "field", "problem"),
    [
        (_users, "experiments[0].load.users", "a count"),
        (_lost, "experiments[0].checks.lost_investigations", "a count"),
        (_config, "config.rate", "inf is not finite"),
        (_early, "experiments[0].started_at", "outside the run window"),
    ],
    ids=["negative-users", "negative-lost", "infinite-config", "experiment-outside-run"],
)
def test_an_impossible_run_json_number_exits_2_naming_the_field(
    tmp_path: Path, edit: Any, field: str, problem: str
) -> None:
    run = _run(tmp_path, "latency_ms", "100")
    data = json.loads((run / "run.json").read_text())
    edit(data)
    (run / "run.json").write_text(json.dumps(data))  # inf -> Infinity, as json.dumps writes it
    code, err = _cli(["gate", str(run), "--slo", str(SLO)])
    assert code == 2 and f"{run / 'run.json'}: " in err and field in err and problem in err, err


@pytest.mark.parametrize(
    ("duration", "problem"), [(-2.0, "-2 is not >= 0"), (float("nan"), "nan is not finite")]
)
def test_an_impossible_journal_duration_exits_2(
    tmp_path: Path, duration: float, problem: str
) -> None:
    run = _run(tmp_path, "latency_ms", "100")
    path = run / "chaos" / "exp" / "journal.json"
    data = json.loads(path.read_text())
    data["run"][0]["duration"] = duration
    path.write_text(json.dumps(data))
    with pytest.raises(ReportsError, match=r"journal\.json: run\[0\]\.duration: ") as info:
        load(run)
    assert problem in str(info.value)


def test_a_nan_in_an_activity_output_is_the_targets_data_not_refused(tmp_path: Path) -> None:
    run = _run(tmp_path, "latency_ms", "100")
    path = run / "chaos" / "exp" / "journal.json"
    data = json.loads(path.read_text())
    data["run"][0]["output"] = {"ratio": float("nan"), "duration": -1}
    path.write_text(json.dumps(data))
    assert load(run).journals["exp"] is not None


def test_every_numeric_column_of_the_contract_has_a_rule() -> None:
    """A column added to the contract is text (named in TEXT_COLUMNS) or gets a rule."""
    for columns, rules in ((REQUEST_COLUMNS, REQUEST_RULES), (SAMPLE_COLUMNS, SAMPLE_RULES)):
        for column in columns:
            assert column in TEXT_COLUMNS or rule_for(column, rules) is not None, column
    # the kinds a coordinated-omission column would have are covered without a table entry
    assert rule_for("scheduled_ts") is REQUEST_RULES["ts"]
    assert rule_for("service_ms") is REQUEST_RULES["latency_ms"]


def test_the_real_cli_exits_2_on_an_infinite_latency(tmp_path: Path) -> None:
    run = _run(tmp_path, "latency_ms", "inf")
    done = subprocess.run(
        [sys.executable, "-m", "stampede.cli", "gate", str(run), "--slo", str(SLO)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert f"requests.csv:{BAD_ROW + 2}: latency_ms: inf is not finite" in done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1
