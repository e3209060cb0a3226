"""The agent workers this ``chaos run`` retired (killed or asked to restart), to see them replaced.

A ``chaos run`` is one process, so a module-level record is shared by the action that retires
workers and the probe that waits for their replacements. A worker is remembered as
``(pid, create_time)``: a recycled PID is not mistaken for the old worker.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import psutil

_lock = threading.Lock()
_retired: set[tuple[int, float]] = set()


def retire(workers: Iterable[psutil.Process]) -> None:
    """Remember ``workers`` as ones that must be gone before they count as replaced."""
    with _lock:
        for proc in workers:
            try:
                _retired.add((proc.pid, proc.create_time()))
            except psutil.Error:
                continue


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


def forget() -> None:
    """Clear the record (tests)."""
    with _lock:
        _retired.clear()
