"""Merge per-worker request files into one ``requests.csv`` sorted by ``ts``.

Distributed Locust writes ``requests.worker-<index>.csv`` per worker (see ``loadtests.recorder``);
run this after every Locust process has exited::

    python -m loadtests.merge runs/x/requests.csv              # merges runs/x/requests.worker-*.csv
    python -m loadtests.merge runs/x/requests.csv a.csv b.csv  # explicit inputs

No Locust import. Raises :class:`MergeError` (a ValueError) naming the file whose header is not
the contract's.
"""

from __future__ import annotations

import csv
import glob
import sys
from collections.abc import Iterable
from pathlib import Path

from loadtests.recorder import COLUMNS


class MergeError(ValueError):
    """An input request file that cannot be merged."""


def worker_files(path: str | Path) -> list[Path]:
    """The worker files beside ``path`` (``<stem>.worker-*<suffix>``), sorted by name."""
    path = Path(path)
    pattern = str(path.with_name(f"{glob.escape(path.stem)}.worker-*{path.suffix or '.csv'}"))
    return sorted(Path(p) for p in glob.glob(pattern))


def _read(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise MergeError(f"{path}: empty file, expected header {','.join(COLUMNS)}")
        if tuple(header) != COLUMNS:
            raise MergeError(
                f"{path}: header {','.join(header)!r} != expected {','.join(COLUMNS)!r}"
            )
        rows = []
        for line, row in enumerate(reader, start=2):
            if len(row) != len(COLUMNS):
                raise MergeError(f"{path}:{line}: {len(row)} cells, expected {len(COLUMNS)}")
            try:
                float(row[0])
            except ValueError as exc:
                raise MergeError(f"{path}:{line}: ts {row[0]!r} is not a number") from exc
            rows.append(row)
        return rows


def merge_request_files(inputs: Iterable[str | Path] | str, out: str | Path) -> int:
    """Merge ``inputs`` (paths, or one glob pattern) into ``out`` sorted by ts; returns rows.

    ``out`` is written even when there are no inputs (header only), so a run directory always
    has its ``requests.csv``. ``out`` may not be one of the inputs.
    """
    paths = (
        sorted(Path(p) for p in glob.glob(inputs))
        if isinstance(inputs, str)
        else [Path(p) for p in inputs]
    )
    out = Path(out)
    if any(p.resolve() == out.resolve() for p in paths):
        raise MergeError(f"{out}: output is also an input")
    rows = [row for path in paths for row in _read(path)]
    rows.sort(key=lambda row: float(row[0]))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    tmp.replace(out)
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    """``python -m loadtests.merge OUT [INPUT ...]``; exit 2 with one line on bad input."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print("usage: python -m loadtests.merge OUT [INPUT ...]  (default inputs: OUT's workers)")
        return 0 if args else 2
    out, inputs = args[0], args[1:] or worker_files(args[0])
    try:
        count = merge_request_files(inputs, out)
    except (MergeError, OSError) as exc:
        print(f"loadtests.merge: error: {exc}", file=sys.stderr)
        return 2
    print(f"merged {count} rows into {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
