"""Read a run directory (docs/contracts.md, "Run directory") into validated frames.

``load(run_dir) -> RunFrames`` is the only place that reads the run directory; everything after
it is pure. Malformed input raises ``ReportsError`` with one line naming the file, the line or
field, and the problem.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from reports.errors import ReportsError, obj, require_run_dir, where
from reports.sidecar import read_sidecar, write_sidecar
from reports.validate import validate_run
from stampede.contract import (
    OPTIONAL_REQUEST_COLUMNS,
    OUTCOMES,
    REQUEST_COLUMNS,
    SAMPLE_COLUMNS,
)
from stampede.rundir.safe import inside
from stampede.yamlinput import MAX_JSON_CHARS, load_json, read_text

# Numeric request columns; only `ts` must be present on every row.
_REQUEST_NUMERIC = (
    "ts",
    "latency_ms",
    "status",
    "tokens",
    "cost_usd",
    "retries",
    "attempt",
    "repeat",
    "scheduled_ts",
    "user_latency_ms",
)
#: The derived trial-group id column of ``read_requests`` (see ``_with_trial_groups``).
TRIAL_GROUP = "trial_group"
# Text columns with few distinct values: read as categoricals (see _in_ts_order).
# answer_key too: a handful of distinct answers (their hashes) over millions of rows; pass^k
# compares its integer codes (reports.trials).
_REQUEST_CATEGORIES = ("name", "outcome", "replica", "experiment", "error", "case_id", "answer_key")
# The pass^k columns (TRIAL_COLUMNS) and the schedule columns (SCHEDULE_COLUMNS) came later:
# older run directories lack them and read as if they were empty (an empty user_latency_ms is
# the service latency: reports.measures.user_latency).


@dataclass(frozen=True)
class ExperimentRecord:
    """One entry of run.json ``experiments`` (times in epoch seconds)."""

    name: str
    started_at: float
    ended_at: float
    journal: str
    file: str | None = None
    status: str | None = None
    deviated: bool | None = None
    checks: dict[str, Any] = field(default_factory=dict)
    load: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    sampler: dict[str, Any] = field(default_factory=dict)  # run.json experiments[].sampler


@dataclass(frozen=True)
class RunFrames:
    """Everything a run directory holds, validated; ``journals[name]`` is None when missing."""

    run_dir: Path
    run: dict[str, Any]
    started_at: float
    ended_at: float
    experiments: tuple[ExperimentRecord, ...]
    requests: pd.DataFrame
    samples: pd.DataFrame
    journals: dict[str, dict[str, Any] | None]
    notes: tuple[str, ...] = ()

    def experiment(self, name: str) -> ExperimentRecord | None:
        return next((e for e in self.experiments if e.name == name), None)


def load(run_dir: Path | str) -> RunFrames:
    """Read and validate ``run.json``, ``requests.csv``, ``samples.csv`` and the journals."""
    run_dir = require_run_dir(Path(run_dir))
    notes: list[str] = []
    run = _read_json(run_dir / "run.json", required=True)
    if not isinstance(run, dict):
        raise ReportsError(f"{run_dir / 'run.json'}: expected a JSON object (the run record)")
    requests = read_requests(run_dir / "requests.csv")
    samples = read_samples(run_dir / "samples.csv")
    if not (run_dir / "samples.csv").is_file():
        notes.append("samples.csv missing: breaker, replica and sampled-retry SLIs are null")
    started_at, ended_at = _run_window(run_dir / "run.json", run, requests)
    experiments = _experiments(run_dir / "run.json", run, requests, started_at)
    journals: dict[str, dict[str, Any] | None] = {}
    for exp in experiments:
        journal = _read_json(inside(run_dir, exp.journal, ReportsError), required=False)
        if journal is not None and not isinstance(journal, dict):
            raise ReportsError(f"{run_dir / exp.journal}: expected a JSON object (a journal)")
        journals[exp.name] = journal
    validate_run(run_dir, run, (started_at, ended_at), requests, samples, journals)
    known = {e.name for e in experiments}
    stray = sorted({str(x) for x in requests["experiment"].unique()} - known - {""})
    if stray:
        notes.append(
            f"requests.csv names experiments not in run.json (counted in the run scope only): "
            f"{', '.join(stray)}"
        )
    return RunFrames(
        run_dir=run_dir,
        run=run,
        started_at=started_at,
        ended_at=ended_at,
        experiments=experiments,
        requests=requests,
        samples=samples,
        journals=journals,
        notes=tuple(notes),
    )


def _read_json(path: Path, *, required: bool) -> Any:
    if not path.is_file():
        if required:
            raise ReportsError(f"{path}: file not found")
        return None
    try:
        text = read_text(path, ReportsError, limit=MAX_JSON_CHARS)
        return load_json(text, str(path), ReportsError, invalid="invalid JSON")
    except json.JSONDecodeError as exc:
        raise ReportsError(
            f"{where(path, exc.lineno)}: invalid JSON: {exc.msg} (column {exc.colno})"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportsError(f"{path}: cannot read: {exc}") from exc


def _number(value: Any) -> float | None:
    """A finite JSON number (bools excluded), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _run_window(path: Path, run: Any, requests: pd.DataFrame) -> tuple[float, float]:
    if not isinstance(run, dict):
        raise ReportsError(f"{path}: expected a JSON object, got {type(run).__name__}")
    bounds = []
    for key in ("started_at", "ended_at"):
        raw = run.get(key)
        value = _number(raw)
        if raw is not None and value is None:
            raise ReportsError(f"{path}: {key}: expected a number (epoch s), got {raw!r}")
        bounds.append(value)
    ts = requests["ts"]
    start = bounds[0] if bounds[0] is not None else (float(ts.min()) if len(ts) else 0.0)
    end = bounds[1] if bounds[1] is not None else (float(ts.max()) if len(ts) else start)
    if end < start:
        raise ReportsError(f"{path}: ended_at {end} is before started_at {start}")
    return start, end


def _experiments(
    path: Path, run: dict[str, Any], requests: pd.DataFrame, run_start: float
) -> tuple[ExperimentRecord, ...]:
    raw = run.get("experiments", [])
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise ReportsError(f"{path}: experiments: expected a list, got {type(raw).__name__}")
    out: list[ExperimentRecord] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        at = f"{path}: experiments[{i}]"
        if not isinstance(item, dict):
            raise ReportsError(f"{at}: expected an object, got {type(item).__name__}")
        name = item.get("name")
        if not isinstance(name, str) or not name:
            raise ReportsError(f"{at}.name: expected a non-empty string, got {name!r}")
        if name in seen:
            raise ReportsError(f"{at}.name: duplicate experiment {name!r}")
        seen.add(name)
        times: dict[str, float | None] = {}
        for key in ("started_at", "ended_at"):
            value = _number(item.get(key))
            if item.get(key) is not None and value is None:
                raise ReportsError(
                    f"{at}.{key}: expected a number (epoch s), got {item.get(key)!r}"
                )
            times[key] = value
        own = requests.loc[requests["experiment"] == name, "ts"]
        start = times["started_at"]
        end = times["ended_at"]
        notes: list[str] = []
        status = item.get("status") if isinstance(item.get("status"), str) else None
        if start is None and not len(own):
            start = end = run_start
            notes.append(f"did not run (status {status or 'unknown'}): empty window")
        elif start is None:
            start = float(own.min())
            notes.append("run.json has no started_at: the first request starts the window")
        if end is None:
            end = float(own.max()) if len(own) else start
            notes.append("run.json has no ended_at: the last request ends the window")
        if end < start:
            raise ReportsError(f"{at}: ended_at {end} is before started_at {start}")
        journal = item.get("journal") or f"chaos/{name}/journal.json"
        if not isinstance(journal, str):
            raise ReportsError(f"{at}.journal: expected a path string, got {journal!r}")
        checks = item.get("checks") or {}
        if not isinstance(checks, dict):
            raise ReportsError(f"{at}.checks: expected an object, got {checks!r}")
        deviated = item.get("deviated")
        out.append(
            ExperimentRecord(
                name=name,
                started_at=start,
                ended_at=end,
                journal=journal,
                file=item.get("file") if isinstance(item.get("file"), str) else None,
                status=status,
                deviated=deviated if isinstance(deviated, bool) else None,
                checks=checks,
                load=obj(item.get("load")),
                notes=tuple(notes),
                sampler=obj(item.get("sampler")),
            )
        )
    return tuple(out)


def _read_csv(path: Path, columns: tuple[str, ...], optional: tuple[str, ...] = ()) -> pd.DataFrame:
    """``columns`` of the CSV at ``path`` as text; ``optional`` ones may be absent (then empty)."""
    required = [c for c in columns if c not in optional]
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    except pd.errors.EmptyDataError as exc:
        raise ReportsError(
            f"{path}: empty file (expected a header line: {','.join(required)})"
        ) from exc
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ReportsError(f"{path}: cannot parse CSV: {first}") from exc
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ReportsError(
            f"{path}: missing columns: {', '.join(missing)} (expected {','.join(required)})"
        )
    for column in optional:
        if column not in frame.columns:
            frame[column] = ""
    return frame[list(columns)].copy()


def _csv_line(path: Path, row: int) -> int:
    """The 1-based file line where data row ``row`` (0-based) starts (quoted newlines count)."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        line = reader.line_num + 1
        for i, _ in enumerate(reader):
            if i == row:
                return line
            line = reader.line_num + 1
    return line


def _numeric(path: Path, frame: pd.DataFrame, column: str, *, required: bool) -> pd.Series:
    text = frame[column].astype(str).str.strip()
    values = pd.to_numeric(text, errors="coerce").astype(float)
    bad = values.isna() & ((text != "") | required)
    if bool(bad.any()):
        row = int(bad.to_numpy().nonzero()[0][0])
        shown = text.iloc[row]
        problem = "is missing" if shown == "" else f"{shown!r} is not a number"
        raise ReportsError(f"{where(path, _csv_line(path, row))}: {column}: {problem}")
    return values


def _header(path: Path) -> list[str]:
    """The CSV's column names (first record); [] for an empty or unreadable file."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return []


def _read_columnar(
    path: Path,
    columns: tuple[str, ...],
    optional: tuple[str, ...],
    numeric: tuple[str, ...],
    categories: tuple[str, ...] = (),
) -> pd.DataFrame | None:
    """The fast path: Arrow's multithreaded CSV reader with the contract's types.

    Numbers become float64 (an empty cell NaN), text stays text ("" kept). Returns None when
    the file is not plainly well-formed (a missing column, a cell that is not a number, a torn
    row, bad UTF-8): the text path (``_read_csv`` + ``_numeric``) then reads it, accepts what
    it accepts (padded numbers, short rows) and names the file, line and field of what it
    does not. One format, two readers: the text path is the reference, this one only faster.
    """
    header = _header(path)
    if len(set(header)) != len(header) or any(
        c not in header for c in columns if c not in optional
    ):
        return None
    present = [c for c in columns if c in header]
    text = pa.dictionary(pa.int32(), pa.string())
    types = {
        c: pa.float64() if c in numeric else text if c in categories else pa.string()
        for c in present
    }
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=16 << 20),  # measured: 25% less than 1 MB
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                include_columns=present,
                strings_can_be_null=False,
                null_values=[""],
            ),
        )
    except (pa.ArrowInvalid, OSError):
        return None
    # Arrow reads a literal `nan` cell as NaN, which would pass as an empty cell: such a file
    # takes the text path, which refuses it naming the line.
    if any(pc.any(pc.is_nan(table[c])).as_py() for c in present if c in numeric):
        return None
    # self_destruct: each column's Arrow buffers are freed once converted (peak: ~one copy)
    frame = table.to_pandas(self_destruct=True, split_blocks=True)
    del table
    for column in columns:
        if column not in frame.columns:
            frame[column] = math.nan if column in numeric else ""
    return frame[list(columns)]


def read_requests(path: Path) -> pd.DataFrame:
    """``requests.csv`` with numeric columns as floats (NaN when empty) and outcomes checked."""
    if not path.is_file():
        raise ReportsError(f"{path}: file not found (every run directory has requests.csv)")
    cached = read_sidecar(path)
    if cached is not None and TRIAL_GROUP in cached.columns:
        return cached
    frame = _with_trial_groups(_parse_requests(path))
    write_sidecar(path, frame)
    return frame


def _parse_requests(path: Path) -> pd.DataFrame:
    """requests.csv parsed and checked (the columnar reader, else the text reader)."""
    fast = _read_columnar(
        path, REQUEST_COLUMNS, OPTIONAL_REQUEST_COLUMNS, _REQUEST_NUMERIC, _REQUEST_CATEGORIES
    )
    if (
        fast is not None
        and not bool(fast["ts"].isna().any())
        and bool(fast["outcome"].isin(OUTCOMES).all())
    ):
        _check_attempts(path, fast)
        return _in_ts_order(fast, _REQUEST_CATEGORIES)
    frame = _read_csv(path, REQUEST_COLUMNS, optional=OPTIONAL_REQUEST_COLUMNS)
    for column in _REQUEST_NUMERIC:
        frame[column] = _numeric(path, frame, column, required=column == "ts")
    outcome = frame["outcome"].astype(str).str.strip()
    bad = ~outcome.isin(OUTCOMES)
    if bool(bad.any()):
        row = int(bad.to_numpy().nonzero()[0][0])
        raise ReportsError(
            f"{where(path, _csv_line(path, row))}: outcome: {outcome.iloc[row]!r} is not one "
            f"of {', '.join(OUTCOMES)}"
        )
    frame["outcome"] = outcome
    _check_attempts(path, frame)
    for column in ("name", "replica", "experiment", "error", "case_id", "trial", "answer_key"):
        frame[column] = frame[column].astype(str)
    return _in_ts_order(frame, _REQUEST_CATEGORIES)


def _with_trial_groups(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``TRIAL_GROUP``: an int64 id unique to each row's ``(experiment, trial)``, -1 without.

    Derived, not a requests.csv column: pass^k groups rows by it in every scope (33 in an
    8-experiment run), and hashing 10M trial strings once here instead of once per scope is
    what keeps it linear at 10M rows. The ids are dense (0..groups-1, in order of first
    appearance), so a scope numbers its groups with an array lookup instead of a hash table.
    """
    frame[TRIAL_GROUP] = group_ids(frame)
    return frame


def group_ids(rows: pd.DataFrame) -> np.ndarray:
    """Dense int64 id of each row's (experiment, trial), first-appearance order; -1: no trial."""
    trial = rows["trial"].astype(str)
    has = (trial != "").to_numpy()
    ids = np.full(len(rows), -1, dtype=np.int64)
    if has.any():
        exp_codes, exp_uniques = pd.factorize(rows["experiment"][has])
        trial_codes, _ = pd.factorize(trial[has])
        ids[has] = _pair_ids(trial_codes, exp_codes, len(exp_uniques))
    return ids


def _pair_ids(trial_codes: np.ndarray, exp_codes: np.ndarray, n_exp: int) -> np.ndarray:
    """Dense ids of the ``(trial, experiment)`` code pairs, in order of first appearance.

    A trial token names its Locust process, so it normally belongs to one experiment: then the
    trial codes (dense, first-appearance order) are the ids already, with no second hash.
    """
    owner = np.full(int(trial_codes.max()) + 1, -1, dtype=np.int64)
    owner[trial_codes] = exp_codes
    if bool((owner[trial_codes] == exp_codes).all()):
        return trial_codes.astype(np.int64)
    key = trial_codes.astype(np.int64) * max(1, n_exp) + exp_codes
    return pd.factorize(key)[0].astype(np.int64)


def _in_ts_order(frame: pd.DataFrame, categories: tuple[str, ...] = ()) -> pd.DataFrame:
    """Rows by ``ts`` (stable); the merger already writes that order, so usually no copy.

    ``categories``: text columns of few distinct values (experiment, outcome...) become
    pandas categoricals, so the per-experiment and per-phase selections compare small integer
    codes instead of 10M strings; they compare equal to their text all the same.
    """
    for column in categories:
        if not isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = frame[column].astype("category")
    if frame["ts"].is_monotonic_increasing:
        return frame.reset_index(drop=True)
    return frame.sort_values("ts", kind="stable").reset_index(drop=True)


def _check_attempts(path: Path, frame: pd.DataFrame) -> None:
    """A row of a trial group has a whole ``1 <= attempt <= repeat``; others leave both empty."""
    attempt, repeat = frame["attempt"], frame["repeat"]
    grouped = frame["trial"].astype(str).str.strip() != ""
    bad = grouped & ~((attempt >= 1) & (attempt <= repeat) & (attempt % 1 == 0) & (repeat % 1 == 0))
    if bool(bad.any()):
        row = int(bad.to_numpy().nonzero()[0][0])
        shown = f"attempt {frame['attempt'].iloc[row]:g} of repeat {frame['repeat'].iloc[row]:g}"
        raise ReportsError(
            f"{where(path, _csv_line(path, row))}: attempt: {shown} is not a whole number in "
            "1..repeat (trial groups: docs/slo.md, pass^k)"
        )


def read_samples(path: Path) -> pd.DataFrame:
    """``samples.csv`` (long format) or an empty frame with its columns when absent."""
    if not path.is_file():
        empty = pd.DataFrame({c: pd.Series(dtype=float) for c in ("ts", "value")})
        for column in ("experiment", "metric", "label"):
            empty[column] = pd.Series(dtype=str)
        return empty[list(SAMPLE_COLUMNS)]
    fast = _read_columnar(path, SAMPLE_COLUMNS, (), ("ts", "value"))
    if fast is not None and not bool(fast[["ts", "value"]].isna().any().any()):
        return _in_ts_order(fast)
    frame = _read_csv(path, SAMPLE_COLUMNS)
    frame["ts"] = _numeric(path, frame, "ts", required=True)
    frame["value"] = _numeric(path, frame, "value", required=True)
    for column in ("experiment", "metric", "label"):
        frame[column] = frame[column].astype(str)
    return _in_ts_order(frame)
