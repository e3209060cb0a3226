"""Per-worker request files merge into one requests.csv sorted by ts."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from loadtests.merge import MergeError, main, merge_request_files, worker_files
from loadtests.recorder import COLUMNS, worker_path


def write(path: Path, ts_values: list[float], header: tuple[str, ...] = COLUMNS) -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for ts in ts_values:
            writer.writerow([f"{ts:.6f}", "1.0", "POST /investigate", "200", "correct",
                             "1", "0.1", "0", path.stem, "e", ""]
                            + [""] * (len(header) - 11))  # fmt: skip
    return path


def read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_worker_files_are_merged_sorted_by_ts(tmp_path: Path) -> None:
    out = tmp_path / "requests.csv"
    write(worker_path(out, 0), [3.0, 1.0, 5.0])
    write(worker_path(out, 1), [2.0, 4.0])
    write(tmp_path / "other.worker-0.csv", [0.5])  # not ours
    assert [p.name for p in worker_files(out)] == [
        "requests.worker-0.csv",
        "requests.worker-1.csv",
    ]
    assert merge_request_files(worker_files(out), out) == 5
    rows = read(out)
    assert [float(r["ts"]) for r in rows] == [1, 2, 3, 4, 5]
    assert [r["replica"] for r in rows] == ["requests.worker-0", "requests.worker-1"] * 2 + [
        "requests.worker-0"
    ]
    assert list(rows[0]) == list(COLUMNS)


def test_glob_pattern_and_no_inputs(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", [2.0])
    write(tmp_path / "b.csv", [1.0])
    assert merge_request_files(str(tmp_path / "*.csv"), tmp_path / "out" / "requests.csv") == 2
    assert merge_request_files([], tmp_path / "empty.csv") == 0
    assert read(tmp_path / "empty.csv") == []
    assert (tmp_path / "empty.csv").read_text().strip() == ",".join(COLUMNS)


def test_wrong_header_names_the_file(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.csv", [1.0], header=("ts", "latency"))
    with pytest.raises(MergeError, match=r"bad\.csv: header"):
        merge_request_files([bad], tmp_path / "out.csv")


def test_torn_rows_are_dropped_and_reported_not_raised(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The one rule of stampede.rundir.merge: a torn row is dropped, counted and named."""
    path = write(tmp_path / "requests.worker-0.csv", [2.0, 1.0])
    with open(path, "a") as handle:
        handle.write("3.0,12\nnot-a-ts" + ",x" * (len(COLUMNS) - 1) + "\n")
    assert merge_request_files([path], tmp_path / "requests.csv") == 2
    assert [float(r["ts"]) for r in read(tmp_path / "requests.csv")] == [1, 2]
    assert main([str(tmp_path / "requests.csv")]) == 0
    captured = capsys.readouterr()
    assert "merged 2 rows" in captured.out
    assert f"dropped 2 torn rows from {path} (lines 4, 5)" in captured.err, captured.err


def test_output_may_not_be_an_input(tmp_path: Path) -> None:
    path = write(tmp_path / "requests.csv", [1.0])
    with pytest.raises(MergeError, match="output is also an input"):
        merge_request_files([path], path)


def test_cli_merges_worker_files_and_exits_2_on_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "requests.csv"
    write(worker_path(out, 0), [1.0])
    assert main([str(out)]) == 0
    assert "merged 1 rows" in capsys.readouterr().out
    (tmp_path / "broken.csv").write_text("")
    assert main([str(out), str(tmp_path / "broken.csv")]) == 2
    assert "broken.csv: empty file" in capsys.readouterr().err
