"""Process lifecycle: draining on SIGTERM (and the ``no_graceful_shutdown`` weakness).

uvicorn already drains on SIGTERM: it stops accepting, lets in-flight requests finish, then runs
the lifespan shutdown. What it does not do is tell the app, so ``/readyz`` would keep saying
ready until the very end. :meth:`Lifecycle.install` chains a handler in front of uvicorn's:
it marks the worker draining (``/readyz`` -> 503 from that moment) and hands the signal on.

With ``no_graceful_shutdown`` the handler exits the process at once (``os._exit``): in-flight
investigations are dropped, which is the failure this weakness demonstrates.

The hook is only installed when someone (uvicorn) already handles SIGTERM in the main thread,
so an app run in-process by tests or the benchmark never changes the host's signal handling.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)

EXIT_CODE_NO_GRACE = 1


class Lifecycle:
    def __init__(self, graceful: bool = True) -> None:
        self.graceful = graceful
        self.draining = False
        self._previous: Any = None
        self._installed = False

    def start_draining(self) -> None:
        self.draining = True

    def install(self) -> bool:
        """Chain our SIGTERM handler in front of the server's; True when installed."""
        if threading.current_thread() is not threading.main_thread():
            return False
        previous = signal.getsignal(signal.SIGTERM)
        if previous in (signal.SIG_DFL, signal.SIG_IGN, None):
            return False
        self._previous = previous
        signal.signal(signal.SIGTERM, self._on_sigterm)
        self._installed = True
        return True

    def uninstall(self) -> None:
        if self._installed and signal.getsignal(signal.SIGTERM) == self._on_sigterm:
            signal.signal(signal.SIGTERM, self._previous)
        self._installed = False

    def _on_sigterm(self, sig: int, frame: FrameType | None) -> None:
        if not self.graceful:
            os.write(2, b"agent: SIGTERM with no_graceful_shutdown: exiting now\n")
            os._exit(EXIT_CODE_NO_GRACE)
        self.draining = True
        os.write(2, b"agent: SIGTERM: draining, /readyz answers 503 from now\n")
        if callable(self._previous):
            self._previous(sig, frame)
