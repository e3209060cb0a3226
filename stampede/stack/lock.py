"""One ``up``/``down``/``start_redis``/resize at a time per state dir (an flock on ``.lock``)."""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Iterator
from pathlib import Path

from stampede.errors import HarnessError


@contextlib.contextmanager
def locked(state_dir: Path, timeout_s: float = 180.0) -> Iterator[None]:
    """Hold the state dir's lock for the ``with`` block; HarnessError after ``timeout_s``."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with open(state_dir / ".lock", "a") as handle:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise HarnessError(
                        f"{state_dir}: another stampede up/down still holds the lock "
                        f"after {timeout_s:.0f} s"
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
