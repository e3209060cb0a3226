"""Request counts Locust itself reports (its stats files), for run.json and progress lines."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from stampede.errors import InputError
from stampede.yamlinput import MAX_JSON_CHARS, load_json, read_text


def locust_request_count(locust_dir: Path, experiment: str) -> int | None:
    """Total requests Locust itself counted in one experiment.

    From ``<name>.json`` (``--json-file``: written at shutdown, after the users stopped, so it is
    final), else the ``Aggregated`` row of ``<name>_stats.csv`` (rewritten every second, so it
    can miss the last second). None when neither is readable (Locust was killed).
    """
    try:
        path = locust_dir / f"{experiment}.json"
        entries = load_json(read_text(path, limit=MAX_JSON_CHARS), str(path))
        return sum(int(entry.get("num_requests", 0)) for entry in entries)
    except (InputError, ValueError, TypeError, AttributeError):
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
        with path.open() as handle:
            header = handle.readline().strip().split(",")
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
