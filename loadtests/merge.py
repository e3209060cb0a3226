"""Merge per-worker request files into one ``requests.csv`` sorted by ``ts``.

Distributed Locust writes ``requests.worker-<index>.csv`` per worker (see ``loadtests.recorder``);
run this after every Locust process has exited::

    python -m loadtests.merge runs/x/requests.csv              # merges runs/x/requests.worker-*.csv
    python -m loadtests.merge runs/x/requests.csv a.csv b.csv  # explicit inputs

A thin CLI over the one merger, :mod:`stampede.rundir.merge`, and its one rule: torn rows are
dropped and reported (on stderr here, in run.json's notes in a suite); an empty input or a
header without the contract's columns is a :class:`MergeError` naming the file (exit 2).
No Locust import.
"""

from __future__ import annotations

import glob
import sys
from collections.abc import Iterable
from pathlib import Path

from stampede.rundir.merge import MergeError, MergeResult, merge_files, worker_files

__all__ = ["MergeError", "main", "merge", "merge_request_files", "worker_files"]


def merge(inputs: Iterable[str | Path] | str, out: str | Path) -> MergeResult:
    """Merge ``inputs`` (paths, or one glob pattern) into ``out``; what was merged and dropped."""
    paths = (
        sorted(Path(p) for p in glob.glob(inputs))
        if isinstance(inputs, str)
        else [Path(p) for p in inputs]
    )
    return merge_files(paths, Path(out))


def merge_request_files(inputs: Iterable[str | Path] | str, out: str | Path) -> int:
    """Merge ``inputs`` into ``out`` sorted by ts; the number of rows written."""
    return merge(inputs, out).rows


def main(argv: list[str] | None = None) -> int:
    """``python -m loadtests.merge OUT [INPUT ...]``; exit 2 with one line on bad input."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print("usage: python -m loadtests.merge OUT [INPUT ...]  (default inputs: OUT's workers)")
        return 0 if args else 2
    out, inputs = args[0], args[1:] or worker_files(args[0])
    try:
        result = merge(inputs, out)
    except (MergeError, OSError) as exc:
        print(f"loadtests.merge: error: {exc}", file=sys.stderr)
        return 2
    for note in result.notes():
        print(f"loadtests.merge: {note}", file=sys.stderr)
    print(f"merged {result.rows} rows into {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
