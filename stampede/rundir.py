"""The run directory `runs/<run-id>/`: ids, provenance, run.json and the merged requests.csv.

Pure file work, no processes: the suite runner calls these to lay out and finish a run
directory per the contract in docs/contracts.md ("Run directory").
"""

from __future__ import annotations

import csv
import importlib.metadata
import json
import os
import re
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from stampede.contract import REQUEST_COLUMNS, SAMPLE_COLUMNS
from stampede.errors import InputError

REQUESTS_COLUMNS = REQUEST_COLUMNS
SAMPLES_COLUMNS = SAMPLE_COLUMNS

# Packages whose versions go into run.json (distribution names, as pip spells them).
VERSIONED_PACKAGES = (
    "stampede",
    "locust",
    "chaostoolkit",
    "chaostoolkit-lib",
    "langgraph",
    "langchain-openai",
    "fastapi",
    "uvicorn",
    "redis",
    "pandas",
)

RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def new_run_id(profile: str, now: float | None = None) -> str:
    """``YYYYMMDD-HHMMSS-<profile>`` in UTC, e.g. ``20261123-161500-smoke``."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(time.time() if now is None else now))
    return f"{stamp}-{profile}"


def check_run_id(run_id: str) -> str:
    """Return ``run_id`` if it is a safe directory name, else raise InputError saying why."""
    if not RUN_ID_RE.match(run_id) or run_id in {".", ".."}:
        raise InputError(
            f"--run-id {run_id!r}: use letters, digits, '.', '_' and '-' only "
            "(at most 128 characters, not starting with '.' or '-')"
        )
    return run_id


def create_run_dir(runs_dir: Path, run_id: str | None, profile: str) -> Path:
    """Make ``runs_dir/<run-id>/`` with ``locust/`` and ``chaos/``; never reuse an existing one.

    A generated id that is taken (two runs in one second) gets a ``-2``, ``-3``... suffix; an id
    the user chose that is taken is an InputError.
    """
    if run_id is not None:
        check_run_id(run_id)
        run_dir = runs_dir / run_id
        if run_dir.exists():
            raise InputError(f"--run-id {run_id}: {run_dir} already exists; choose another id")
    else:
        base = new_run_id(profile)
        run_dir = runs_dir / base
        suffix = 2
        while run_dir.exists():
            run_dir = runs_dir / f"{base}-{suffix}"
            suffix += 1
    (run_dir / "locust").mkdir(parents=True)
    (run_dir / "chaos").mkdir()
    return run_dir


def git_sha(cwd: Path | None = None) -> str:
    """``git rev-parse HEAD`` of ``cwd``, or ``"unknown"`` outside a repository or without git."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    sha = done.stdout.strip()
    return sha if done.returncode == 0 and re.fullmatch(r"[0-9a-f]{40,64}", sha) else "unknown"


def package_versions(packages: Iterable[str] = VERSIONED_PACKAGES) -> dict[str, str | None]:
    """Installed version of each distribution, None when it is not installed."""
    versions: dict[str, str | None] = {}
    for name in packages:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


@dataclass
class ExperimentRecord:
    """One experiment of a run, as it lands in ``run.json["experiments"]``.

    ``status`` is the journal's status (``completed``, ``failed``, ``aborted``,
    ``interrupted``) or, when there is no journal, the suite's own: ``not-run``, ``interrupted``,
    ``error``.
    """

    name: str
    file: str
    journal: str
    load: dict[str, Any]
    started_at: float | None = None
    ended_at: float | None = None
    status: str = "not-run"
    deviated: bool | None = None
    locust: dict[str, Any] = field(default_factory=dict)
    chaos: dict[str, Any] = field(default_factory=dict)
    sampler: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, Any] = field(default_factory=lambda: {"lost_investigations": None})
    errors: list[str] = field(default_factory=list)


@dataclass
class RunRecord:
    """Everything ``run.json`` holds; ``write_run_json`` serialises it."""

    run_id: str
    target: str
    profile: str
    config: dict[str, Any]
    started_at: float
    git_sha: str = "unknown"
    versions: dict[str, str | None] = field(default_factory=dict)
    ended_at: float | None = None
    partial: bool = False
    agent: dict[str, Any] = field(default_factory=lambda: {"weakness": None})
    stack: dict[str, Any] = field(default_factory=dict)
    experiments: list[ExperimentRecord] = field(default_factory=list)
    requests: dict[str, Any] = field(default_factory=dict)
    harness_errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def write_run_json(run_dir: Path, record: RunRecord) -> Path:
    """Write ``run.json`` atomically (a reader never sees half a file)."""
    path = run_dir / "run.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record.as_dict(), indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path)
    return path


def read_journal_status(journal: Path) -> tuple[str | None, bool | None, list[str]]:
    """``(status, deviated, failed method actions)`` from a Chaos Toolkit journal.

    Missing or unreadable journal -> ``(None, None, [])``. A deviated run says
    ``"status": "completed", "deviated": true``: ``deviated`` is what tells.
    """
    try:
        data = json.loads(journal.read_text())
    except (OSError, ValueError):
        return None, None, []
    if not isinstance(data, dict):
        return None, None, []
    failed = [
        str(run.get("activity", {}).get("name", "?"))
        for run in data.get("run") or []
        if isinstance(run, dict)
        and run.get("status") == "failed"
        and run.get("activity", {}).get("type") == "action"
    ]
    deviated = data.get("deviated")
    return (
        data.get("status"),
        bool(deviated) if deviated is not None else None,
        failed,
    )


@dataclass(frozen=True)
class MergeResult:
    """What merging the per-experiment recorder files produced."""

    rows: int
    files: tuple[str, ...]
    dropped: int  # unreadable rows (a process killed mid-line), not written

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "files": list(self.files), "dropped": self.dropped}


def recorder_files(locust_dir: Path, experiment: str) -> list[Path]:
    """The recorder files of one experiment: ``<name>.requests.csv`` plus any distributed-mode
    worker files (``<name>.requests.<worker>.csv`` / ``<name>.requests-<worker>.csv``)."""
    single = locust_dir / f"{experiment}.requests.csv"
    found = {single} if single.is_file() else set()
    for pattern in (f"{experiment}.requests.*.csv", f"{experiment}.requests-*.csv"):
        found.update(p for p in locust_dir.glob(pattern) if p.is_file())
    return sorted(found)


def _read_rows(path: Path, experiment: str) -> tuple[list[list[str]], int]:
    rows: list[list[str]] = []
    dropped = 0
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return rows, 0
        missing = [c for c in REQUESTS_COLUMNS if c not in header]
        if missing:
            raise InputError(
                f"{path}: recorder file lacks columns {missing}; "
                f"expected {','.join(REQUESTS_COLUMNS)}"
            )
        index = [header.index(c) for c in REQUESTS_COLUMNS]
        exp_col = REQUESTS_COLUMNS.index("experiment")
        for raw in reader:
            if len(raw) != len(header):
                dropped += 1
                continue
            row = [raw[i] for i in index]
            try:
                float(row[0])
            except ValueError:
                dropped += 1
                continue
            if not row[exp_col]:
                row[exp_col] = experiment
            rows.append(row)
    return rows, dropped


def merge_requests(
    run_dir: Path, experiments: Sequence[str], out_name: str = "requests.csv"
) -> MergeResult:
    """Concatenate every experiment's recorder file(s) into ``requests.csv``, sorted by ``ts``.

    Columns are put in the contract order; a row whose ``experiment`` is empty gets the
    experiment of its file. Torn rows (a killed process) are dropped and counted, so a partial
    run still yields a readable file. The output always has the header, even with no rows.
    """
    locust_dir = run_dir / "locust"
    rows: list[list[str]] = []
    used: list[str] = []
    dropped = 0
    for name in experiments:
        for path in recorder_files(locust_dir, name):
            file_rows, file_dropped = _read_rows(path, name)
            rows.extend(file_rows)
            dropped += file_dropped
            used.append(str(path.relative_to(run_dir)))
    rows.sort(key=lambda row: float(row[0]))
    out = run_dir / out_name
    tmp = out.with_suffix(".csv.tmp")
    with tmp.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(REQUESTS_COLUMNS)
        writer.writerows(rows)
    os.replace(tmp, out)
    return MergeResult(rows=len(rows), files=tuple(used), dropped=dropped)


def ensure_samples_file(run_dir: Path) -> Path:
    """``samples.csv`` with its header, created empty if no sampler ever ran."""
    path = run_dir / "samples.csv"
    if not path.exists() or path.stat().st_size == 0:
        with path.open("w", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerow(SAMPLES_COLUMNS)
    return path


def locust_request_count(locust_dir: Path, experiment: str) -> int | None:
    """Total requests Locust itself counted in one experiment.

    From ``<name>.json`` (``--json-file``: written at shutdown, after the users stopped, so it is
    final), else the ``Aggregated`` row of ``<name>_stats.csv`` (rewritten every second, so it
    can miss the last second). None when neither is readable (Locust was killed).
    """
    try:
        entries = json.loads((locust_dir / f"{experiment}.json").read_text())
        return sum(int(entry.get("num_requests", 0)) for entry in entries)
    except (OSError, ValueError, TypeError, AttributeError):
        pass
    path = locust_dir / f"{experiment}_stats.csv"
    try:
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                if row.get("Name") == "Aggregated":
                    return int(float(row.get("Request Count") or 0))
    except (OSError, ValueError):
        return None
    return None


def live_request_count(locust_dir: Path, experiment: str) -> int | None:
    """Requests so far, for progress lines: the last ``Aggregated`` row of the stats history."""
    path = locust_dir / f"{experiment}_stats_history.csv"
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 8192))
            tail = handle.read().decode(errors="replace").splitlines()
        header = path.open().readline().strip().split(",")
    except OSError:
        return None
    try:
        name_col = header.index("Name")
        count_col = header.index("Total Request Count")
    except ValueError:
        return None
    for line in reversed(tail):
        cells = line.split(",")
        if len(cells) == len(header) and cells[name_col].strip('"') == "Aggregated":
            try:
                return int(float(cells[count_col].strip('"')))
            except ValueError:
                return None
    return None
