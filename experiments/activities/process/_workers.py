"""The agent workers this Chaos Toolkit run retired (killed or restarted), to see them replaced.

A Chaos Toolkit run is one process, so a module-level record is shared by the action that
retires workers and the probe that waits for their replacements. A worker is remembered as
``(pid, create_time)``: a recycled PID is not mistaken for the old worker.

A replacement counts once it serves, not when its process appears (a new worker imports the
whole agent first): uvicorn logs ``Application startup complete`` per started worker, so the
record also keeps how many such lines the agent log must gain past its size at retirement. When
the log never had that line (another logging config), only the processes are checked.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import psutil

STARTUP_LINE = "Application startup complete"

_lock = threading.Lock()
_retired: set[tuple[int, float]] = set()
#: agent log -> (offset at the first unanswered retirement, startups still expected past it)
_startups: dict[str, tuple[int, int]] = {}


def _read(log: str, offset: int = 0) -> tuple[str, int]:
    """The log's text from ``offset`` and its current size ('' and 0 when unreadable)."""
    try:
        with open(log, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
            return data.decode(errors="replace"), offset + len(data)
    except OSError:
        return "", 0


def retire(workers: Iterable[psutil.Process], log: str = "") -> None:
    """Remember ``workers`` as ones that must be gone, and replaced, before they count."""
    procs = list(workers)
    with _lock:
        for proc in procs:
            try:
                _retired.add((proc.pid, proc.create_time()))
            except psutil.Error:
                continue
        if not log or not procs:
            return
        text, size = _read(log)
        if STARTUP_LINE not in text:
            return
        offset, expected = _startups.get(log, (size, 0))
        _startups[log] = (offset, expected + len(procs))


def retired_alive() -> list[int]:
    """PIDs of retired workers that still run (same PID and create_time)."""
    alive = []
    with _lock:
        for pid, created in sorted(_retired):
            try:
                proc = psutil.Process(pid)
                same = abs(proc.create_time() - created) < 0.01
                if same and proc.status() != psutil.STATUS_ZOMBIE:
                    alive.append(pid)
                    continue
            except psutil.Error:
                pass
            _retired.discard((pid, created))
    return alive


def startups_missing(log: str) -> int:
    """How many replacement workers have not logged their start yet (0 when none expected)."""
    with _lock:
        if log not in _startups:
            return 0
        offset, expected = _startups[log]
        text, _ = _read(log, offset)
        missing = max(0, expected - text.count(STARTUP_LINE))
        if not missing:
            del _startups[log]
        return missing


def forget() -> None:
    """Clear the record (tests)."""
    with _lock:
        _retired.clear()
        _startups.clear()
