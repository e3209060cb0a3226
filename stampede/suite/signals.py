"""Interrupts during a suite: SIGTERM behaves like Ctrl-C, and clean-up is never cut short.

Ctrl-C (or SIGTERM) at any point: chaos gets one SIGINT (Chaos Toolkit then runs its rollbacks),
Locust is stopped, the target's faults are cleared, and the run directory is still written with
``"partial": true``. These two context managers make that hold.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

from stampede.targets.base import Say


@contextlib.contextmanager
def deferred_interrupts(say: Say) -> Iterator[None]:
    """Hold SIGINT/SIGTERM while cleaning up (rollbacks must run); re-raise afterwards.

    A signal that arrives inside is reported and turned into KeyboardInterrupt on exit, so a
    Ctrl-C during the normal end of an experiment still stops the suite, after the cleanup.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        say("interrupt received: finishing clean-up first (chaos rollbacks, stopping Locust)")

    previous = {sig: signal.signal(sig, hold) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if received:
        raise KeyboardInterrupt


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (CI cancelling a job) takes the same clean path as Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
