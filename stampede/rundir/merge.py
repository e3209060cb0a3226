"""The one ``requests.csv`` merger: recorder files -> one file in contract order, sorted by ts.

Used by the suite (every experiment's recorder files of a run directory, `merge_requests`) and
by ``python -m loadtests.merge`` (explicit files, `merge_files`). One rule for every caller:

* an input's header must hold the contract's columns (any order, extra columns ignored); an
  empty input or one lacking columns is a :class:`MergeError` (an InputError) naming the file;
* a torn row (wrong number of cells, or a ``ts`` that is not a number: a writer killed
  mid-line) is dropped, counted and reported: :attr:`MergeResult.torn` says which file and which
  lines, :meth:`MergeResult.notes` words it for run.json's ``notes`` and the CLI's stderr;
* the output always has the header, even with no rows, and is replaced atomically.
"""

from __future__ import annotations

import csv
import glob
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stampede.contract import REQUEST_COLUMNS
from stampede.errors import InputError
from stampede.rundir.safe import atomic_open

_TS = REQUEST_COLUMNS.index("ts")
_EXPERIMENT = REQUEST_COLUMNS.index("experiment")
_SHOWN_LINES = 10  # torn line numbers listed in a note; the count is always complete


class MergeError(InputError, ValueError):
    """An input request file that cannot be merged (empty, wrong header, output = input)."""


@dataclass(frozen=True)
class TornRows:
    """Rows of one input that could not be read, by line number (1 = the header)."""

    file: str
    lines: tuple[int, ...]

    def note(self) -> str:
        """``requests.csv: dropped 3 torn rows from locust/x.requests.csv (lines 17, 40, 41)``."""
        shown = ", ".join(str(n) for n in self.lines[:_SHOWN_LINES])
        more = f", +{len(self.lines) - _SHOWN_LINES} more" if len(self.lines) > _SHOWN_LINES else ""
        rows = "row" if len(self.lines) == 1 else "rows"
        line = "line" if len(self.lines) == 1 else "lines"
        return (
            f"requests.csv: dropped {len(self.lines)} torn {rows} from {self.file} "
            f"({line} {shown}{more})"
        )


@dataclass(frozen=True)
class MergeResult:
    """What merging produced: rows written, inputs used, rows dropped and files skipped."""

    rows: int
    files: tuple[str, ...]
    torn: tuple[TornRows, ...] = ()
    skipped: tuple[str, ...] = field(default=())  # empty recorder files (nothing was written)

    @property
    def dropped(self) -> int:
        """Torn rows dropped over every input."""
        return sum(len(torn.lines) for torn in self.torn)

    def notes(self) -> list[str]:
        """One line per input that lost rows or was skipped (empty when nothing was lost)."""
        notes = [torn.note() for torn in self.torn]
        notes += [
            f"requests.csv: skipped {name}: empty (nothing recorded)" for name in self.skipped
        ]
        return notes

    def as_dict(self) -> dict[str, Any]:
        """run.json ``requests`` (without ``locust_total``, which the suite adds)."""
        return {"rows": self.rows, "files": list(self.files), "dropped": self.dropped}


def _label(path: Path, base: Path | None) -> str:
    if base is not None:
        try:
            return str(path.relative_to(base))
        except ValueError:
            pass
    return str(path)


def read_request_file(
    path: Path, experiment: str = "", label: str = ""
) -> tuple[list[list[str]], TornRows | None]:
    """Rows of one recorder file in contract order, and its torn rows (None when none).

    A row whose ``experiment`` is empty gets ``experiment``. Raises MergeError for an empty file
    or a header without the contract's columns.
    """
    expected = ",".join(REQUEST_COLUMNS)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise MergeError(f"{path}: empty file, expected header {expected}")
        missing = [c for c in REQUEST_COLUMNS if c not in header]
        if missing:
            raise MergeError(
                f"{path}: header {','.join(header)!r} lacks the contract's columns {missing}; "
                f"expected {expected}"
            )
        index = [header.index(c) for c in REQUEST_COLUMNS]
        rows: list[list[str]] = []
        torn: list[int] = []
        for raw in reader:
            if len(raw) != len(header):
                torn.append(reader.line_num)
                continue
            row = [raw[i] for i in index]
            try:
                float(row[_TS])
            except ValueError:
                torn.append(reader.line_num)
                continue
            if not row[_EXPERIMENT]:
                row[_EXPERIMENT] = experiment
            rows.append(row)
    return rows, TornRows(label or str(path), tuple(torn)) if torn else None


def merge_files(
    inputs: Sequence[Path],
    out: Path,
    experiments: Mapping[Path, str] | None = None,
    relative_to: Path | None = None,
) -> MergeResult:
    """Merge ``inputs`` into ``out`` sorted by ts (see the module docstring for the rule).

    ``experiments`` fills an empty ``experiment`` cell per input file; ``relative_to`` is the
    directory the file names in the result (and its notes) are relative to.
    """
    if any(p.resolve() == out.resolve() for p in inputs):
        raise MergeError(f"{out}: output is also an input")
    rows: list[list[str]] = []
    torn: list[TornRows] = []
    for path in inputs:
        label = _label(path, relative_to)
        file_rows, file_torn = read_request_file(path, (experiments or {}).get(path, ""), label)
        rows.extend(file_rows)
        if file_torn is not None:
            torn.append(file_torn)
    rows.sort(key=lambda row: float(row[_TS]))
    with atomic_open(out, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(REQUEST_COLUMNS)
        writer.writerows(rows)
    files = tuple(_label(p, relative_to) for p in inputs)
    return MergeResult(rows=len(rows), files=files, torn=tuple(torn))


def recorder_files(locust_dir: Path, experiment: str) -> list[Path]:
    """The recorder files of one experiment: ``<name>.requests.csv`` plus any distributed-mode
    worker files (``<name>.requests.<worker>.csv`` / ``<name>.requests-<worker>.csv``)."""
    single = locust_dir / f"{experiment}.requests.csv"
    found = {single} if single.is_file() else set()
    for pattern in (f"{experiment}.requests.*.csv", f"{experiment}.requests-*.csv"):
        found.update(p for p in locust_dir.glob(pattern) if p.is_file())
    return sorted(found)


def worker_files(path: str | Path) -> list[Path]:
    """The worker files beside ``path`` (``<stem>.worker-*<suffix>``), sorted by name."""
    path = Path(path)
    pattern = str(path.with_name(f"{glob.escape(path.stem)}.worker-*{path.suffix or '.csv'}"))
    return sorted(Path(p) for p in glob.glob(pattern))


def merge_requests(
    run_dir: Path, experiments: Sequence[str], out_name: str = "requests.csv"
) -> MergeResult:
    """Every experiment's recorder file(s) of a run directory -> ``run_dir/requests.csv``.

    A recorder file that is empty (a Locust killed before it wrote its header) is skipped and
    reported in :meth:`MergeResult.notes`; everything else follows the one rule.
    """
    locust_dir = run_dir / "locust"
    found = [(path, name) for name in experiments for path in recorder_files(locust_dir, name)]
    inputs = [path for path, _ in found if path.stat().st_size > 0]
    merged = merge_files(inputs, run_dir / out_name, dict(found), relative_to=run_dir)
    skipped = tuple(_label(path, run_dir) for path, _ in found if path not in inputs)
    return MergeResult(
        rows=merged.rows,
        files=tuple(_label(path, run_dir) for path, _ in found),
        torn=merged.torn,
        skipped=skipped,
    )
