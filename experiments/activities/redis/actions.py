"""Actions on the local stack's Redis: stop and start it, pause its clients, make it sleep.

Stop and start go through the stack (``stampede.stack``), which owns the process and knows how
to start it again with the same port and options.

No ``from __future__ import annotations`` in activity modules: Chaos Toolkit's discovery reads
the annotation objects, and string annotations would all be reported as "object".
"""

import time

import redis
from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from experiments.activities import _local
from experiments.activities._local import Figures
from experiments.activities.redis import _client
from stampede import stack

__all__ = ["debug_sleep", "pause_redis", "start_redis", "stop_redis", "unpause_redis"]

POLL_S = 0.1
MAX_PAUSE_MS = 60_000
MAX_SLEEP_S = 30.0


def stop_redis(
    timeout_s: float = 5.0,
    keep_data: bool = True,
    state_file: str = "",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> Figures:
    """Stop the stack's Redis; raises if it still answers PING `timeout_s` after the stop.

    `keep_data` (default): `SHUTDOWN SAVE` first, so the Redis that `start_redis` brings back
    has the records it had — an outage, not a data loss (the stack's Redis runs without
    persistence, so a plain stop would wipe every stored investigation). `keep_data` false
    stops it with SIGTERM and the data is gone, as with an ephemeral Redis pod.
    """
    state = _local.load(state_file, configuration)
    started = time.monotonic()
    kept = keep_data and _client.shutdown_saving(state)
    stack.stop_redis(state)  # SIGTERM what still runs; reaps our process record either way
    while _client.answers_ping(state, 0.5):
        if time.monotonic() - started >= timeout_s:
            raise ActivityFailed(
                f"redis on {_client.address(state)} still answers PING {timeout_s:.1f} s after stop"
            )
        time.sleep(POLL_S)
    return {
        "redis": _client.address(state),
        "data_kept": kept,
        "stopped_in_s": round(time.monotonic() - started, 3),
    }


def start_redis(
    timeout_s: float = 10.0,
    state_file: str = "",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> Figures:
    """Start the stack's Redis unless it answers PING already; raises if no PING in `timeout_s`.

    Idempotent: safe as a method step and again as a rollback. The snapshot `stop_redis` saved
    is loaded, then deleted (the stack's Redis has no persistence: a later `stampede up` must
    not find old records).
    """
    state = _local.load(state_file, configuration)
    if _client.answers_ping(state, 1.0):
        return {"redis": _client.address(state), "already_running": True, "started_in_s": 0.0}
    started = time.monotonic()
    stack.start_redis(state)
    while not _client.answers_ping(state, 0.5):  # answers only once the snapshot is loaded
        if time.monotonic() - started >= timeout_s:
            raise ActivityFailed(
                f"redis on {_client.address(state)} does not answer PING "
                f"{timeout_s:.1f} s after start"
            )
        time.sleep(POLL_S)
    return {
        "redis": _client.address(state),
        "already_running": False,
        "started_in_s": round(time.monotonic() - started, 3),
        "keys": _client.keys_after_restart(state),
    }


def pause_redis(
    ms: int = 5000,
    state_file: str = "",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> Figures:
    """Pause every Redis client for `ms` ms (CLIENT PAUSE ALL, a brownout); raises if refused.

    The pause ends on its own after `ms`; `unpause_redis` ends it early (Redis >= 7) or waits
    for its end (Redis 6.2 blocks even CLIENT UNPAUSE during a pause).
    """
    if not 1 <= ms <= MAX_PAUSE_MS:
        raise ActivityFailed(f"pause of {ms} ms: expected 1..{MAX_PAUSE_MS} ms")
    state = _local.load(state_file, configuration)
    conn = _client.client(state, 2.0)
    try:
        conn.execute_command("CLIENT", "PAUSE", ms, "ALL")
    except redis.RedisError as exc:
        raise ActivityFailed(
            f"redis on {_client.address(state)} refused CLIENT PAUSE {ms} ALL: {exc}"
        ) from exc
    finally:
        conn.close()
    return {"redis": _client.address(state), "paused_ms": ms, "until": time.time() + ms / 1000}


def unpause_redis(
    timeout_s: float = 65.0,
    state_file: str = "",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> Figures:
    """End a CLIENT PAUSE (or wait for its end); raises if Redis does not answer in `timeout_s`."""
    state = _local.load(state_file, configuration)
    started = time.monotonic()
    conn = _client.client(state, timeout_s)
    try:
        conn.execute_command("CLIENT", "UNPAUSE")
    except redis.RedisError as exc:
        raise ActivityFailed(
            f"redis on {_client.address(state)} did not accept CLIENT UNPAUSE within "
            f"{timeout_s:.1f} s: {exc}"
        ) from exc
    finally:
        conn.close()
    return {"redis": _client.address(state), "waited_s": round(time.monotonic() - started, 3)}


def debug_sleep(
    seconds: float = 1.0,
    state_file: str = "",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> Figures:
    """Freeze the Redis server for `seconds` (DEBUG SLEEP, blocks this call too); raises if refused.

    Redis 7 refuses DEBUG unless started with `--enable-debug-command local`.
    """
    if not 0 < seconds <= MAX_SLEEP_S:
        raise ActivityFailed(f"DEBUG SLEEP of {seconds} s: expected 0 < seconds <= {MAX_SLEEP_S}")
    state = _local.load(state_file, configuration)
    started = time.monotonic()
    conn = _client.client(state, seconds + 5.0)
    try:
        conn.execute_command("DEBUG", "SLEEP", seconds)
    except redis.RedisError as exc:
        raise ActivityFailed(
            f"redis on {_client.address(state)} refused DEBUG SLEEP {seconds}: {exc} "
            "(Redis 7 needs --enable-debug-command local)"
        ) from exc
    finally:
        conn.close()
    return {"redis": _client.address(state), "slept_s": round(time.monotonic() - started, 3)}
