"""Run directory helpers: ids, provenance, run.json, requests.csv merging, Locust counts."""

from __future__ import annotations

import csv
import json
import re
import subprocess
from pathlib import Path

import pytest

from stampede import rundir
from stampede.errors import InputError

HEADER = ",".join(rundir.REQUESTS_COLUMNS)
TRIAL_CELLS = "," * (len(rundir.REQUESTS_COLUMNS) - 11)  # pass^k + schedule columns: empty


def _row(ts: float, experiment: str = "", status: int = 200, outcome: str = "correct") -> str:
    return f"{ts},12.5,/investigate,{status},{outcome},100,0.001,0,r1,{experiment},{TRIAL_CELLS}"


def test_run_id_is_utc_time_and_profile() -> None:
    assert rundir.new_run_id("smoke", now=1795450500.0) == "20261123-161500-smoke"
    assert re.fullmatch(r"\d{8}-\d{6}-full", rundir.new_run_id("full"))


@pytest.mark.parametrize(
    "bad", ["../x", "a/b", ".hidden", "-flag", "", "x" * 129], ids=lambda v: repr(v[:10])
)
def test_unsafe_run_ids_are_refused(bad: str) -> None:
    with pytest.raises(InputError, match="--run-id"):
        rundir.check_run_id(bad)


def test_create_run_dir_never_reuses_a_directory(tmp_path: Path) -> None:
    """A generated id that is taken gets a suffix; a chosen id that is taken is an error."""
    first = rundir.create_run_dir(tmp_path, None, "smoke")
    second = rundir.create_run_dir(tmp_path, None, "smoke")
    assert first != second and (first / "locust").is_dir() and (first / "chaos").is_dir()
    rundir.create_run_dir(tmp_path, "mine", "smoke")
    with pytest.raises(InputError, match="already exists"):
        rundir.create_run_dir(tmp_path, "mine", "smoke")


def test_git_sha_is_the_head_commit_or_unknown(tmp_path: Path) -> None:
    assert rundir.git_sha(tmp_path) == "unknown"
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(
        ["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "--allow-empty",
         "-m", "x"],
        cwd=tmp_path,
        check=True,
    )  # fmt: skip
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert rundir.git_sha(tmp_path) == head


def test_package_versions_cover_the_stack_and_mark_missing_ones() -> None:
    versions = rundir.package_versions()
    assert set(versions) == set(rundir.VERSIONED_PACKAGES)
    assert versions["locust"] and versions["chaostoolkit-lib"]
    assert rundir.package_versions(["no-such-dist-xyz"]) == {"no-such-dist-xyz": None}


def test_run_json_has_the_contract_fields(tmp_path: Path) -> None:
    record = rundir.RunRecord(
        run_id="r1",
        target="local",
        profile="smoke",
        config={"users": 8},
        started_at=1.0,
        git_sha="abc",
        versions={"locust": "2"},
    )
    record.experiments.append(
        rundir.ExperimentRecord(
            name="replica-kill",
            file="experiments/local/replica-kill.json",
            journal="chaos/replica-kill/journal.json",
            load={"users": 8, "shape": "steady"},
            started_at=2.0,
            ended_at=3.0,
            status="completed",
            deviated=False,
        )
    )
    record.ended_at = 4.0
    data = json.loads(rundir.write_run_json(tmp_path, record).read_text())
    for key in ("run_id", "target", "profile", "git_sha", "versions", "config", "started_at",
                "ended_at", "agent", "experiments", "partial"):  # fmt: skip
        assert key in data, key
    assert data["agent"] == {"weakness": None}
    exp = data["experiments"][0]
    for key in ("name", "file", "journal", "started_at", "ended_at", "status", "deviated", "load"):
        assert key in exp, key
    assert exp["checks"] == {"lost_investigations": None}
    assert not list(tmp_path.glob("*.tmp"))


def test_merge_sorts_all_experiments_and_worker_files_by_ts(tmp_path: Path) -> None:
    """Per-experiment and per-worker recorder files become one requests.csv in ts order."""
    locust = tmp_path / "locust"
    locust.mkdir()
    (locust / "a.requests.csv").write_text(f"{HEADER}\n{_row(3.0, 'a')}\n{_row(1.0, 'a')}\n")
    (locust / "b.requests.worker-1.csv").write_text(f"{HEADER}\n{_row(2.0, 'b')}\n")
    (locust / "b.requests.worker-2.csv").write_text(f"{HEADER}\n{_row(0.5, 'b')}\n")
    (locust / "c.requests.csv").write_text(f"{HEADER}\n{_row(9.0, 'c')}\n")  # not in the run
    result = rundir.merge_requests(tmp_path, ["a", "b"])
    with (tmp_path / "requests.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [float(r["ts"]) for r in rows] == [0.5, 1.0, 2.0, 3.0]
    assert [r["experiment"] for r in rows] == ["b", "a", "b", "a"]
    assert result.rows == 4 and result.dropped == 0 and len(result.files) == 3


def test_merge_reorders_columns_and_fills_a_missing_experiment(tmp_path: Path) -> None:
    locust = tmp_path / "locust"
    locust.mkdir()
    columns = list(reversed(rundir.REQUESTS_COLUMNS))
    values = dict(zip(rundir.REQUESTS_COLUMNS, _row(5.0).split(","), strict=True))
    (locust / "x.requests.csv").write_text(
        ",".join(columns) + "\n" + ",".join(values[c] for c in columns) + "\n"
    )
    rundir.merge_requests(tmp_path, ["x"])
    lines = (tmp_path / "requests.csv").read_text().splitlines()
    assert lines[0] == HEADER
    assert lines[1] == _row(5.0, "x")


def test_merge_drops_torn_rows_of_a_killed_recorder(tmp_path: Path) -> None:
    """A partial run: the last line cut mid-row is dropped and counted, the rest is kept."""
    locust = tmp_path / "locust"
    locust.mkdir()
    (locust / "x.requests.csv").write_text(f"{HEADER}\n{_row(1.0, 'x')}\n2.0,12")
    (locust / "y.requests.csv").write_text("")  # opened, nothing written
    result = rundir.merge_requests(tmp_path, ["x", "y", "never-started"])
    assert result.rows == 1 and result.dropped == 1
    assert result.notes() == [
        "requests.csv: dropped 1 torn row from locust/x.requests.csv (line 3)",
        "requests.csv: skipped locust/y.requests.csv: empty (nothing recorded)",
    ]


def test_a_torn_note_lists_the_lines_of_unparsable_rows(tmp_path: Path) -> None:
    """Wrong cell count and a ts that is not a number are both torn; every line is named."""
    (tmp_path / "locust").mkdir()
    rows = [_row(1.0, "x"), "garbage", _row(2.0, "x"), "ts?" + _row(3.0, "x")[3:]]
    (tmp_path / "locust" / "x.requests.csv").write_text("\n".join([HEADER, *rows]) + "\n")
    result = rundir.merge_requests(tmp_path, ["x"])
    assert result.rows == 2 and result.dropped == 2
    assert result.torn == (rundir.TornRows("locust/x.requests.csv", (3, 5)),)
    assert result.notes() == [
        "requests.csv: dropped 2 torn rows from locust/x.requests.csv (lines 3, 5)"
    ]


def test_merge_with_no_recorder_file_writes_the_header(tmp_path: Path) -> None:
    (tmp_path / "locust").mkdir()
    assert rundir.merge_requests(tmp_path, ["x"]).rows == 0
    assert (tmp_path / "requests.csv").read_text() == HEADER + "\n"


def test_merge_names_a_recorder_file_without_the_contract_columns(tmp_path: Path) -> None:
    (tmp_path / "locust").mkdir()
    (tmp_path / "locust" / "x.requests.csv").write_text("ts,latency_ms\n1,2\n")
    with pytest.raises(InputError, match=r"x\.requests\.csv: header 'ts,latency_ms' lacks"):
        rundir.merge_requests(tmp_path, ["x"])


def test_samples_file_gets_its_header_when_nothing_sampled(tmp_path: Path) -> None:
    path = rundir.ensure_samples_file(tmp_path)
    assert path.read_text() == "ts,experiment,metric,label,value\n"


def test_journal_status_reads_deviated_and_failed_actions(tmp_path: Path) -> None:
    journal = tmp_path / "journal.json"
    journal.write_text(
        json.dumps(
            {
                "status": "completed",
                "deviated": True,
                "run": [
                    {"status": "succeeded", "activity": {"type": "action", "name": "kill"}},
                    {"status": "failed", "activity": {"type": "action", "name": "restore"}},
                    {"status": "failed", "activity": {"type": "probe", "name": "look"}},
                ],
            }
        )
    )
    assert rundir.read_journal_status(journal) == ("completed", True, ["restore"])
    assert rundir.read_journal_status(tmp_path / "missing.json") == (None, None, [])


def test_locust_count_prefers_the_final_json_over_the_stats_csv(tmp_path: Path) -> None:
    (tmp_path / "x_stats.csv").write_text("Type,Name,Request Count\nPOST,/i,7\n,Aggregated,7\n")
    assert rundir.locust_request_count(tmp_path, "x") == 7
    (tmp_path / "x.json").write_text(json.dumps([{"num_requests": 5}, {"num_requests": 4}]))
    assert rundir.locust_request_count(tmp_path, "x") == 9
    assert rundir.locust_request_count(tmp_path, "missing") is None


def test_live_count_reads_the_last_aggregated_history_row(tmp_path: Path) -> None:
    (tmp_path / "x_stats_history.csv").write_text(
        "Timestamp,User Count,Type,Name,Requests/s,Total Request Count\n"
        "1,2,,Aggregated,1.0,10\n2,2,POST,/i,1.0,15\n2,2,,Aggregated,1.0,15\n"
    )
    assert rundir.live_request_count(tmp_path, "x") == 15
    assert rundir.live_request_count(tmp_path, "none") is None
