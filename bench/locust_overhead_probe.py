"""CPU and requests of one bench Locust run, between ``test_start`` and ``test_stop``.

Imported by both bench locustfiles; writes ``{"cpu_s", "user_s", "system_s", "wall_s",
"requests"}`` to the file named by ``$BENCH_PROBE_OUT`` at ``test_stop``. Two events per run:
nothing on the per-request path.
``time.process_time()`` is this process's user + system CPU, so CPU per request does not depend
on how busy the machine is (unlike requests/s, which does).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from locust import events

_start: dict[str, float] = {}


@events.test_start.add_listener
def _on_start(**_: Any) -> None:
    times = os.times()
    _start.update(
        cpu=time.process_time(), wall=time.monotonic(), user=times.user, system=times.system
    )


@events.test_stop.add_listener
def _on_stop(environment: Any, **_: Any) -> None:
    out = os.environ.get("BENCH_PROBE_OUT")
    if not out or not _start:
        return
    times = os.times()
    result = {
        "cpu_s": time.process_time() - _start["cpu"],
        "user_s": times.user - _start["user"],
        "system_s": times.system - _start["system"],
        "wall_s": time.monotonic() - _start["wall"],
        "requests": environment.stats.total.num_requests,
    }
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
