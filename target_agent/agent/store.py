"""Redis-backed records, idempotency keys and the tool result cache, with a write-behind buffer.

Keys: ``investigation:{id}`` (the response record, JSON), ``idem:{key}`` -> the claim
``"<id> <body digest>"``, ``cache:{tool}:{service}`` (the last good tool answer, JSON). Every
Redis call goes through the ``redis`` :class:`Dependency` (timeout, retries, budget, breaker,
limit). When Redis fails:

* a record goes to this worker's :class:`WriteBehindBuffer`; a background task flushes it when
  Redis answers again (and shutdown tries once more, bounded);
* ``GET /investigations/{id}`` looks in Redis, then in this worker's buffer; when Redis is down
  and the record is not here, the answer is "unavailable" (503), not a false 404;
* idempotency falls back to a bounded per-worker map (exactly-once across workers needs Redis);
  a claim in Redis is a *lock* with a short TTL (the request deadline plus a margin), turned
  into the completed result's claim (record TTL) by ``save`` and deleted by ``release`` on
  every other exit, so a worker that dies mid-investigation holds a key for seconds, not a day;
* cache reads and writes are skipped (a cache is an optimisation, never accepted data).

The client is built with an explicit retry policy and socket timeouts: redis-py 8 would
otherwise retry every command 10 times and stall ~5 s per call during an outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from target_agent.agent.metrics import Metrics
from target_agent.agent.resilience import (
    AttemptTimeout,
    CallStats,
    Deadline,
    Dependency,
    DependencyError,
    DependencyUnavailable,
)
from target_agent.agent.resilience.fallback import PendingRecord, WriteBehindBuffer

log = logging.getLogger(__name__)

FLUSH_BATCH = 100
LOCAL_KEYS_MAX = 10_000

# The claim of ``idem:{key}`` (ARGV[1] = investigation id) owned by us, or no claim at all:
# then ARGV[2] (the claim) is set with TTL ARGV[3] ms. Atomic, so a claim that expired and was
# taken by a retry is never overwritten by the investigation that lost it.
_SET_IF_OURS = """
local v = redis.call('GET', KEYS[1])
if (not v) or v == ARGV[1] or string.sub(v, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. ' ' then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""
# Delete ``idem:{key}`` only while investigation ARGV[1] owns it.
_DELETE_IF_OURS = """
local v = redis.call('GET', KEYS[1])
if v and (v == ARGV[1] or string.sub(v, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. ' ') then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def body_digest(alert: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a validated request body (keys sorted, no spaces)."""
    canonical = json.dumps(alert, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Claim:
    """Who holds an ``Idempotency-Key``: an investigation and the digest of its request body."""

    investigation_id: str
    body_digest: str  # "" for a claim written before digests existed

    def value(self) -> str:
        return f"{self.investigation_id} {self.body_digest}"

    @classmethod
    def parse(cls, raw: bytes | str) -> Claim:
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        investigation_id, _, digest = text.partition(" ")
        return cls(investigation_id, digest)


class StoreUnavailable(Exception):
    """Redis cannot be asked and the answer is not in this worker."""


def build_redis(url: str, timeout_s: float, max_connections: int) -> aioredis.Redis:
    """A client that fails fast: no hidden retries, explicit socket timeouts."""
    return aioredis.Redis.from_url(
        url,
        retry=Retry(NoBackoff(), 0),
        retry_on_timeout=False,
        socket_connect_timeout=timeout_s,
        socket_timeout=timeout_s,
        health_check_interval=0,
        max_connections=max_connections,
    )


class Store:
    def __init__(
        self,
        client: aioredis.Redis,
        dependency: Dependency,
        buffer: WriteBehindBuffer,
        metrics: Metrics,
        record_ttl_s: int,
        cache_ttl_s: int,
    ) -> None:
        self.client = client
        self.dep = dependency
        self.buffer = buffer
        self.metrics = metrics
        self.record_ttl_s = record_ttl_s
        self.cache_ttl_s = cache_ttl_s
        self._local_keys: OrderedDict[str, Claim] = OrderedDict()
        self._call_budget_s = dependency.policy.timeout_s * dependency.policy.max_attempts + 0.5

    # -- plumbing ------------------------------------------------------------------------------

    def _deadline(self, deadline: Deadline | None) -> Deadline:
        own = Deadline(self._call_budget_s)
        return deadline if deadline is not None and deadline.at < own.at else own

    async def _run(self, fn: Any, deadline: Deadline | None, stats: CallStats | None) -> Any:
        async def attempt(_timeout_s: float) -> Any:
            try:
                return await fn()
            except RedisTimeoutError as exc:
                raise AttemptTimeout("redis", str(exc) or "socket timeout") from exc
            except (RedisError, OSError) as exc:
                raise DependencyUnavailable("redis", f"{type(exc).__name__}: {exc}") from exc

        return await self.dep.call(attempt, self._deadline(deadline), stats)

    def _depth_changed(self) -> None:
        self.metrics.write_behind_depth.set(len(self.buffer))

    def _keep_claim(self, pipe: Any, key: str, investigation_id: str, payload: str) -> None:
        """Queue on ``pipe``: ``idem:{key}`` -> the completed claim, for the record's TTL."""
        digest = body_digest(dict(json.loads(payload)).get("alert") or {})
        value = Claim(investigation_id, digest).value()
        ttl_ms = self.record_ttl_s * 1000
        pipe.eval(_SET_IF_OURS, 1, f"idem:{key}", investigation_id, value, ttl_ms)

    # -- records -------------------------------------------------------------------------------

    async def save(
        self,
        record: dict[str, Any],
        idempotency_key: str | None,
        cache: dict[tuple[str, str], dict[str, Any]],
        stats: CallStats | None = None,
    ) -> bool:
        """Store a record (and refresh the cache); True if Redis has it, False if buffered."""
        investigation_id = record["investigation_id"]
        payload = json.dumps(record, separators=(",", ":"))

        async def write() -> None:
            pipe = self.client.pipeline(transaction=False)
            pipe.set(f"investigation:{investigation_id}", payload, ex=self.record_ttl_s)
            if idempotency_key:  # the lock becomes the completed result's claim
                self._keep_claim(pipe, idempotency_key, investigation_id, payload)
            for (tool, service), evidence in cache.items():
                pipe.set(
                    f"cache:{tool}:{service}",
                    json.dumps(evidence, separators=(",", ":")),
                    ex=self.cache_ttl_s,
                )
            await pipe.execute()

        try:
            await self._run(write, None, stats)
            return True
        except DependencyError:
            self.buffer.put(PendingRecord(investigation_id, payload, idempotency_key))
            self.metrics.fallbacks.labels("redis", "write_behind").inc()
            self._depth_changed()
            return False

    async def load(self, investigation_id: str) -> dict[str, Any] | None:
        """The record from Redis, else from this worker's buffer; None if it does not exist.

        Raises :class:`StoreUnavailable` when Redis fails and the buffer does not have it.
        """
        try:
            raw = await self._run(
                lambda: self.client.get(f"investigation:{investigation_id}"), None, None
            )
        except DependencyError as exc:
            pending = self.buffer.get(investigation_id)
            if pending is not None:
                return dict(json.loads(pending.payload))
            raise StoreUnavailable(str(exc)) from exc
        if raw is not None:
            return dict(json.loads(raw))
        pending = self.buffer.get(investigation_id)
        return dict(json.loads(pending.payload)) if pending is not None else None

    # -- idempotency ---------------------------------------------------------------------------

    async def claim(self, key: str, claim: Claim, ttl_s: float, deadline: Deadline) -> Claim | None:
        """Lock ``key`` for ``claim`` for ``ttl_s``; the claim that already holds it, or None.

        The lock is short (the request deadline plus a margin): ``save`` turns it into the
        completed result's claim, ``release`` deletes it, and if the worker dies it expires.
        """
        ttl_ms = max(1, int(ttl_s * 1000))

        async def set_nx() -> list[Any]:
            pipe = self.client.pipeline(transaction=False)
            pipe.set(f"idem:{key}", claim.value(), nx=True, px=ttl_ms)
            pipe.get(f"idem:{key}")
            return list(await pipe.execute())

        try:
            won, current = await self._run(set_nx, deadline, None)
        except DependencyError:
            self.metrics.fallbacks.labels("redis", "local_idempotency").inc()
            return self._claim_locally(key, claim)
        if won:
            self._local_keys.pop(key, None)
            return None
        if current is None:  # expired between SET and GET: nobody holds it now
            return await self.claim(key, claim, ttl_s, deadline)
        return Claim.parse(current)

    async def release(self, key: str, investigation_id: str) -> None:
        """Forget ``key`` if ``investigation_id`` still holds it (best effort, bounded)."""
        local = self._local_keys.get(key)
        if local is not None and local.investigation_id == investigation_id:
            del self._local_keys[key]

        async def compare_and_delete() -> None:
            await self.client.eval(_DELETE_IF_OURS, 1, f"idem:{key}", investigation_id)

        with contextlib.suppress(DependencyError):
            await self._run(compare_and_delete, None, None)

    def _claim_locally(self, key: str, claim: Claim) -> Claim | None:
        existing = self._local_keys.get(key)
        if existing is not None:
            return existing
        self._local_keys[key] = claim
        while len(self._local_keys) > LOCAL_KEYS_MAX:
            self._local_keys.popitem(last=False)
        return None

    # -- tool result cache ---------------------------------------------------------------------

    async def cached_evidence(
        self, tool: str, service: str, deadline: Deadline, stats: CallStats | None
    ) -> dict[str, Any] | None:
        """The last good answer of ``tool`` for ``service``; None when absent or unreachable."""
        try:
            raw = await self._run(
                lambda: self.client.get(f"cache:{tool}:{service}"), deadline, stats
            )
        except DependencyError:
            return None
        return dict(json.loads(raw)) if raw is not None else None

    # -- write-behind flushing -----------------------------------------------------------------

    async def flush_once(self) -> int:
        """Write the oldest buffered records to Redis; return how many were stored."""
        batch = self.buffer.oldest(FLUSH_BATCH)
        if not batch:
            return 0

        async def write() -> None:
            pipe = self.client.pipeline(transaction=False)
            for pending in batch:
                pipe.set(
                    f"investigation:{pending.investigation_id}",
                    pending.payload,
                    ex=self.record_ttl_s,
                )
                if pending.idempotency_key:
                    self._keep_claim(
                        pipe, pending.idempotency_key, pending.investigation_id, pending.payload
                    )
            await pipe.execute()

        try:
            await self._run(write, None, None)
        except DependencyError:
            return 0
        self.buffer.remove(batch)
        self._depth_changed()
        return len(batch)

    async def flush_all(self, timeout_s: float) -> int:
        """Flush until the buffer is empty, Redis fails, or ``timeout_s`` passes; return left."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout_s
        while len(self.buffer) and loop.time() < end:
            if not await self.flush_once():
                await asyncio.sleep(min(0.1, max(0.0, end - loop.time())))
        return len(self.buffer)

    async def run_flusher(self, interval_s: float) -> None:
        """Background task: flush whenever something waits; runs until cancelled."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                while len(self.buffer) and await self.flush_once():
                    pass
            except Exception:  # never let the flusher die: records would stay stranded
                log.exception("write-behind flush failed")

    async def ping(self, timeout_s: float) -> bool:
        """True if Redis answers PING within ``timeout_s`` (readiness_on_redis only)."""
        try:
            async with asyncio.timeout(timeout_s):
                return bool(await self.client.ping())
        except (TimeoutError, RedisError, OSError):
            return False
