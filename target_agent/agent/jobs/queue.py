"""The durable work queue: a Redis Stream with one consumer group, and one hash per job.

Keys (prefix ``AGENT_JOB_STREAM``, default ``stampede:jobs``):

* ``<prefix>`` - the stream; each entry is ``{"job": <id>}``; the consumer group ``workers``
  holds every entry a worker has read and not acknowledged (its pending entries list);
* ``<prefix>:job:<id>`` - the job's hash: ``status``, ``alert``, ``attempts``, ``resumed_from``,
  ``resumes``, ``reason``, ``last_error``, ``record`` (the answer), ``completions``, ...;
* ``<prefix>:idem:<key>`` - ``Idempotency-Key`` -> job id;
* ``<prefix>:open`` - the set of the ids of accepted jobs not yet finished (pending, running,
  retrying): added by :data:`SUBMIT`, removed by the script that finishes the job.

Delivery is at least once: a worker reads an entry (``XREADGROUP``), keeps it alive with a
heartbeat while it works (``XCLAIM ... JUSTID``, only while it still owns it), and acknowledges
it when the job is finished (``XACK``). The entry of a worker that died stops being refreshed;
after the visibility timeout another worker takes it over (``XAUTOCLAIM``). Every state change
of a job is one Lua script, so it is atomic across workers: :data:`START` counts the attempt
and dead-letters the job (``failed`` with the reason) past the attempt limit; :data:`COMPLETE`
finishes it only if nobody has yet (compare-and-set on ``status``): a job completes once, and
is billed once, however many workers touched it.

Admission (``AGENT_JOB_QUEUE_LIMIT``): :data:`SUBMIT` refuses a new job, storing nothing,
while the open set holds ``limit`` jobs; an already used ``Idempotency-Key`` still returns its
job. The count is the set's cardinality (``SCARD``, O(1)), checked and changed in the same
script as the job is stored, so no two workers can both take the last place. A set rather than
a counter: removing an id is idempotent, so a job finished twice, or one that never went
through :data:`SUBMIT` (written by hand, queued before this version), cannot make it drift.
Not ``XLEN`` minus acknowledged: the stream keeps acknowledged entries (trimmed only
approximately), and the undelivered part (``XINFO GROUPS`` ``lag``) can be unknown (null).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

GROUP = "workers"
#: The stream is trimmed (approximately) to this many entries: acknowledged ones are history.
STREAM_MAX = 100_000
TERMINAL = ("complete", "degraded", "failed")
#: What ``GET /investigations/{id}`` reports for each stored status.
PUBLIC_STATUS = {
    "pending": "pending",
    "retrying": "pending",
    "running": "running",
    "complete": "complete",
    "degraded": "degraded",
    "failed": "failed",
}

SUBMIT = """
local idem, job, stream, open = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id, alert, now, ttl, key = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local limit = tonumber(ARGV[7])
local existing = key ~= '' and redis.call('GET', idem)
if existing then return {existing, 1, 0} end
local unfinished = redis.call('SCARD', open)
if unfinished >= limit then return {'', 2, unfinished} end
if key ~= '' then redis.call('SET', idem, id, 'EX', ttl) end
redis.call('HSET', job, 'status', 'pending', 'alert', alert, 'created_at', now,
           'attempts', 0, 'resumes', 0, 'completions', 0, 'duplicate_completions', 0,
           'idempotency_key', key)
redis.call('EXPIRE', job, ttl)
redis.call('SADD', open, id)
redis.call('XADD', stream, 'MAXLEN', '~', tonumber(ARGV[6]), '*', 'job', id)
return {id, 0, unfinished + 1}
"""

START = """
local job, open, worker, limit, now = KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]), ARGV[3]
local status = redis.call('HGET', job, 'status')
if not status then  -- the hash expired (record TTL): the job can never run
  redis.call('SREM', open, ARGV[4])
  return {'missing', 0, 0}
end
if status == 'complete' or status == 'degraded' or status == 'failed' then
  return {status, tonumber(redis.call('HGET', job, 'attempts')), 0}
end
local done = tonumber(redis.call('HGET', job, 'attempts'))
if status == 'running' then
  redis.call('HSET', job, 'last_error', 'attempt ' .. done .. ' on worker ' ..
             redis.call('HGET', job, 'worker') .. ' did not finish (the worker died or lost it)')
end
if done >= limit then
  redis.call('HSET', job, 'status', 'failed', 'finished_at', now, 'reason',
             'gave up after ' .. done .. ' attempts (limit ' .. limit .. '): ' ..
             (redis.call('HGET', job, 'last_error') or 'unknown'))
  redis.call('SREM', open, ARGV[4])
  return {'failed', done, 1}
end
redis.call('HINCRBY', job, 'attempts', 1)
redis.call('HSET', job, 'status', 'running', 'worker', worker, 'started_at', now)
return {'running', done + 1, 0}
"""

RETRY_LATER = """
local job = KEYS[1]
local status = redis.call('HGET', job, 'status')
if status ~= 'running' or redis.call('HGET', job, 'worker') ~= ARGV[1] then return 0 end
redis.call('HSET', job, 'status', 'retrying', 'last_error', ARGV[2])
return 1
"""

COMPLETE = """
local job, open = KEYS[1], KEYS[2]
local status = redis.call('HGET', job, 'status')
if not status then return -1 end
if status == 'complete' or status == 'degraded' or status == 'failed' then
  redis.call('HINCRBY', job, 'duplicate_completions', 1)
  return 0
end
redis.call('HSET', job, 'status', ARGV[1], 'record', ARGV[2], 'tokens', ARGV[3],
           'cost_usd', ARGV[4], 'completed_by', ARGV[5], 'finished_at', ARGV[6])
redis.call('HINCRBY', job, 'completions', 1)
redis.call('SREM', open, ARGV[7])
return 1
"""

HEARTBEAT = """
local stream, group, me = KEYS[1], ARGV[1], ARGV[2]
local lost = {}
for i = 3, #ARGV do
  local entry = redis.call('XPENDING', stream, group, ARGV[i], ARGV[i], 1)
  if entry[1] and entry[1][2] == me then
    redis.call('XCLAIM', stream, group, me, 0, ARGV[i], 'JUSTID')
  else
    table.insert(lost, ARGV[i])
  end
end
return lost
"""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True)
class Submitted:
    job_id: str
    replayed: bool  # an earlier job with the same Idempotency-Key


class QueueFull(Exception):
    """The queue holds ``limit`` unfinished jobs: a new one is refused (nothing was stored)."""

    def __init__(self, unfinished: int, limit: int) -> None:
        super().__init__(
            f"job queue full: {unfinished} accepted jobs not yet finished "
            f"(AGENT_JOB_QUEUE_LIMIT={limit})"
        )
        self.unfinished = unfinished
        self.limit = limit


@dataclass(frozen=True)
class Started:
    """What :meth:`JobQueue.start` found: the attempt to run, or the job's end."""

    status: str  # running | complete | degraded | failed | missing
    attempts: int
    dead_lettered: bool  # this call failed the job (past the attempt limit)


@dataclass(frozen=True)
class Entry:
    """One stream entry a worker holds: the entry id and the job it names."""

    entry_id: str
    job_id: str


class JobQueue:
    """Submit, claim, heartbeat, finish and read jobs (all Redis work of the durable API)."""

    def __init__(self, client: aioredis.Redis, prefix: str, ttl_s: int, limit: int) -> None:
        self.client = client
        self.stream = prefix
        self.prefix = prefix
        self.open_key = f"{prefix}:open"
        self.ttl_s = ttl_s
        self.limit = limit
        self._submit = client.register_script(SUBMIT)
        self._start = client.register_script(START)
        self._retry_later = client.register_script(RETRY_LATER)
        self._complete = client.register_script(COMPLETE)
        self._heartbeat = client.register_script(HEARTBEAT)
        self._cursor = "0-0"

    def job_key(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}"

    async def ensure_group(self) -> None:
        """Create the stream and its consumer group unless they exist."""
        try:
            await self.client.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def submit(self, alert: dict[str, Any], idempotency_key: str | None) -> Submitted:
        """Store a pending job and queue it; an already used key returns its earlier job.

        Raises :class:`QueueFull` (nothing stored) when ``limit`` jobs are unfinished.
        """
        job_id = uuid.uuid4().hex
        key = idempotency_key or ""
        found, outcome, unfinished = await self._submit(
            keys=[f"{self.prefix}:idem:{key}", self.job_key(job_id), self.stream, self.open_key],
            args=[
                job_id,
                json.dumps(alert, separators=(",", ":")),
                time.time(),
                self.ttl_s,
                key,
                STREAM_MAX,
                self.limit,
            ],
        )
        if int(outcome) == 2:
            raise QueueFull(int(unfinished), self.limit)
        return Submitted(_text(found), int(outcome) == 1)

    async def read(self, consumer: str, count: int, block_ms: int) -> list[Entry]:
        """New entries for ``consumer`` (``XREADGROUP``), waiting up to ``block_ms``."""
        reply = await self.client.xreadgroup(
            GROUP, consumer, {self.stream: ">"}, count=count, block=block_ms
        )
        return [self._entry(eid, fields) for _, entries in reply or [] for eid, fields in entries]

    async def reclaim(self, consumer: str, count: int, min_idle_ms: int) -> list[Entry]:
        """Entries idle for longer than ``min_idle_ms`` (their worker died): ``XAUTOCLAIM``."""
        reply = await self.client.xautoclaim(
            self.stream, GROUP, consumer, min_idle_ms, start_id=self._cursor, count=count
        )
        self._cursor = _text(reply[0])
        return [self._entry(eid, fields) for eid, fields in reply[1] if fields]

    @staticmethod
    def _entry(entry_id: Any, fields: dict[Any, Any]) -> Entry:
        job = fields.get(b"job", fields.get("job", b""))
        return Entry(_text(entry_id), _text(job))

    async def heartbeat(self, consumer: str, entry_ids: list[str]) -> list[str]:
        """Reset the idle time of the entries ``consumer`` still owns; return those it lost."""
        if not entry_ids:
            return []
        lost = await self._heartbeat(keys=[self.stream], args=[GROUP, consumer, *entry_ids])
        return [_text(x) for x in lost]

    async def open_jobs(self) -> int:
        """Accepted jobs not yet finished: the open set's cardinality (what admission counts)."""
        return int(await self.client.scard(self.open_key))

    async def ack(self, entry: Entry) -> None:
        await self.client.xack(self.stream, GROUP, entry.entry_id)

    async def start(self, job_id: str, worker: str, max_attempts: int) -> Started:
        """Count one attempt (``running``), or the job's end (``failed`` past the limit)."""
        status, attempts, dead = await self._start(
            keys=[self.job_key(job_id), self.open_key],
            args=[worker, max_attempts, time.time(), job_id],
        )
        return Started(_text(status), int(attempts or 0), int(dead) == 1)

    async def retry_later(self, job_id: str, worker: str, error: str) -> None:
        """This attempt failed with ``error``: leave the entry for the next attempt."""
        await self._retry_later(keys=[self.job_key(job_id)], args=[worker, error])

    async def complete(self, job_id: str, status: str, record: dict[str, Any], worker: str) -> bool:
        """Finish the job unless someone already has; True if this call finished it."""
        won = await self._complete(
            keys=[self.job_key(job_id), self.open_key],
            args=[
                status,
                json.dumps(record, separators=(",", ":")),
                record["tokens"],
                record["cost_usd"],
                worker,
                time.time(),
                job_id,
            ],
        )
        return int(won) == 1

    async def set_resumed(self, job_id: str, node: str) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(self.job_key(job_id), "resumed_from", node)
        pipe.hincrby(self.job_key(job_id), "resumes", 1)
        await pipe.execute()

    async def alert(self, job_id: str) -> dict[str, Any]:
        raw = await self.client.hget(self.job_key(job_id), "alert")
        if raw is None:
            raise KeyError(f"job {job_id} has no alert")
        return dict(json.loads(raw))

    async def load(self, job_id: str) -> dict[str, str] | None:
        """The job's hash as text, or None when there is no such job."""
        raw = await self.client.hgetall(self.job_key(job_id))
        return {_text(k): _text(v) for k, v in raw.items()} if raw else None
