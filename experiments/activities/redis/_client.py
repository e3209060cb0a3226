"""One way to reach the stack's Redis: explicit timeouts, no hidden retries, 127.0.0.1 only."""

from __future__ import annotations

from typing import TYPE_CHECKING

import redis
from chaoslib.exceptions import ActivityFailed
from redis.backoff import NoBackoff
from redis.retry import Retry

from experiments.activities import _local

if TYPE_CHECKING:
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
