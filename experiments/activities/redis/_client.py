"""One way to reach the stack's Redis: explicit timeouts, no hidden retries, 127.0.0.1 only."""

from __future__ import annotations

from pathlib import Path

import redis
from chaoslib.exceptions import ActivityFailed
from redis.backoff import NoBackoff
from redis.retry import Retry

from experiments.activities import _local
from stampede.stack import StackState


def address(state: StackState) -> str:
    """``host:port`` of the stack's Redis, for messages."""
    return f"{state.redis.host}:{state.redis.port}"


def client(state: StackState, timeout_s: float) -> redis.Redis:
    """A client that fails after ``timeout_s`` instead of redis-py's default 10 silent retries."""
    host = state.redis.host
    if host not in _local.LOCAL_HOSTS:
        raise ActivityFailed(f"redis host {host!r} from {state.path} is not 127.0.0.1")
    return redis.Redis(
        host=host,
        port=state.redis.port,
        password=state.redis.password or None,
        socket_timeout=timeout_s,
        socket_connect_timeout=min(timeout_s, 2.0),
        retry=Retry(NoBackoff(), 0),
    )


def answers_ping(state: StackState, timeout_s: float) -> bool:
    """True when Redis answers PING within ``timeout_s``."""
    conn = client(state, timeout_s)
    try:
        return bool(conn.ping())
    except redis.RedisError:
        return False
    finally:
        conn.close()


def shutdown_saving(state: StackState) -> bool:
    """``SHUTDOWN SAVE``: Redis writes its snapshot and exits. False if it refused or is down."""
    conn = client(state, 10.0)
    try:
        conn.shutdown(save=True)
        return True
    except redis.RedisError:
        return False
    finally:
        conn.close()


def keys_after_restart(state: StackState) -> int:
    """Keys of a freshly started Redis; its loaded snapshot is then deleted when it has no
    persistence configured (the snapshot only exists because ``shutdown_saving`` wrote it).
    """
    conn = client(state, 2.0)
    try:
        keys = int(conn.dbsize())
        config = conn.config_get("save")
        config.update(conn.config_get("appendonly"))
        if not config.get("save") and config.get("appendonly") == "no":
            directory = conn.config_get("dir").get("dir")
            name = conn.config_get("dbfilename").get("dbfilename")
            if directory and name:
                Path(directory, name).unlink(missing_ok=True)
        return keys
    except redis.RedisError:
        return -1
    finally:
        conn.close()
