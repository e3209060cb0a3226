"""The job worker every uvicorn worker process runs beside its HTTP server.

One loop claims entries - first those whose worker died (``XAUTOCLAIM`` after the visibility
timeout; never with the ``no_reclaim`` weakness), then new ones (``XREADGROUP``) - up to
``AGENT_JOB_CONCURRENCY`` at a time, each run as its own task. A heartbeat task refreshes the
entries this worker holds every third of the visibility timeout, so a slow job of a live
worker is never taken over; a SIGKILLed worker's entries stop being refreshed and go to
another worker. An attempt that raises is left for the next one (after the visibility
timeout); the attempt limit dead-letters it (``failed`` with the reason). A worker that is
shut down gracefully waits (bounded) for its jobs, then cancels them: they are reclaimed.

It counts what it does in the ``agent_jobs_*`` metrics: takeovers (``reclaimed``), attempts that
resume after a completed node (``resumed``), answers (``completed{status}``, only by the worker
whose completion won) and dead letters (``dead_lettered``, only by the worker that gave up).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable

from redis.exceptions import RedisError

from target_agent.agent.graph import fresh_answers
from target_agent.agent.investigator import build_record
from target_agent.agent.jobs.queue import TERMINAL, Entry, JobQueue
from target_agent.agent.jobs.runner import DurableRunner
from target_agent.agent.metrics import Metrics
from target_agent.agent.settings import Settings
from target_agent.agent.store import Store

log = logging.getLogger(__name__)

ERROR_PAUSE_S = 0.5
STOP_MARGIN_S = 1.0


class JobWorker:
    def __init__(
        self,
        queue: JobQueue,
        runner: DurableRunner,
        store: Store,
        metrics: Metrics,
        settings: Settings,
        reclaim: bool = True,
    ) -> None:
        self.queue = queue
        self.runner = runner
        self.store = store
        self.metrics = metrics
        self.settings = settings
        self.reclaim = reclaim
        self.consumer = f"{settings.replica}-{os.getpid()}"
        self.active: dict[str, asyncio.Task[None]] = {}
        self._slot = asyncio.Event()
        self._claimer: asyncio.Task[None] | None = None
        self._beater: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._claimer = asyncio.create_task(self._loop())
        self._beater = asyncio.create_task(self._beat())

    async def stop(self, grace_s: float) -> None:
        """Stop claiming; wait up to ``grace_s`` for running jobs, cancel the rest."""
        # A task blocked in XREADGROUP is not cancelled: redis-py can swallow the cancellation
        # there and never return (seen here with redis-py 8.1). The loop sees the flag when
        # its read returns, within ``job_block_s``; cancelling is the bounded last resort.
        self._stopping = True
        self._slot.set()
        await _finish([self._claimer], self.settings.job_block_s + STOP_MARGIN_S)
        await _finish(list(self.active.values()), grace_s)  # still heartbeated meanwhile
        if self._beater is not None:
            self._beater.cancel()
            await _finish([self._beater], STOP_MARGIN_S)

    # -- claiming ------------------------------------------------------------------------------

    async def _loop(self) -> None:
        limit = self.settings.job_concurrency
        min_idle_ms = int(self.settings.job_visibility_timeout_s * 1000)
        block_ms = int(self.settings.job_block_s * 1000)
        ready = False
        while not self._stopping:
            free = limit - len(self.active)
            if free <= 0:
                self._slot.clear()
                await self._slot.wait()
                continue
            try:
                if not ready:
                    await self.queue.ensure_group()
                    ready = True
                entries: list[Entry] = []
                if self.reclaim:
                    entries = await self.queue.reclaim(self.consumer, free, min_idle_ms)
                    taken = sum(entry.entry_id not in self.active for entry in entries)
                    if taken:  # counted before any attempt starts: a takeover is never missed
                        self.metrics.jobs_reclaimed.inc(taken)
                if not entries:
                    entries = await self.queue.read(self.consumer, free, block_ms)
            except (RedisError, OSError) as exc:
                log.warning("job queue unavailable: %s: %s", type(exc).__name__, exc)
                await asyncio.sleep(ERROR_PAUSE_S)
                continue
            for entry in entries:
                if self._stopping:  # read after stop: left pending, reclaimed by others
                    break
                if entry.entry_id not in self.active:
                    task = asyncio.create_task(self._handle(entry))
                    self.active[entry.entry_id] = task

    async def _beat(self) -> None:
        interval = self.settings.job_visibility_timeout_s / 3
        while True:
            await asyncio.sleep(interval)
            try:
                lost = await self.queue.heartbeat(self.consumer, list(self.active))
            except (RedisError, OSError) as exc:
                log.warning("job heartbeat failed: %s: %s", type(exc).__name__, exc)
                continue
            for entry_id in lost:  # another worker took it over: its result wins or ours
                log.warning("job entry %s was taken over by another worker", entry_id)

    # -- one job -------------------------------------------------------------------------------

    async def _handle(self, entry: Entry) -> None:
        try:
            await self._attempt(entry)
        except asyncio.CancelledError:
            raise
        except Exception:  # Redis failed mid-way: the entry stays pending and is reclaimed
            log.exception("job %s: attempt could not be recorded", entry.job_id)
        finally:
            self.active.pop(entry.entry_id, None)
            self._slot.set()

    async def _attempt(self, entry: Entry) -> None:
        queue, job_id, me = self.queue, entry.job_id, self.consumer
        started = await queue.start(job_id, me, self.settings.job_max_attempts)
        attempts = started.attempts
        if started.status in TERMINAL or started.status == "missing":
            if started.dead_lettered:
                self.metrics.jobs_dead_lettered.inc()
                log.error("job %s: dead-lettered after %d attempts", job_id, attempts)
            await queue.ack(entry)
            return
        with self.metrics.jobs_running.track_inprogress():
            await self._run(entry, attempts)

    async def _run(self, entry: Entry, attempts: int) -> None:
        """Run attempt ``attempts`` of a started job to its end (or leave it for a retry)."""
        queue, job_id, me = self.queue, entry.job_id, self.consumer
        try:
            alert = await queue.alert(job_id)
            attempt = await self.runner.run(job_id, attempts, alert, self._on_resume(job_id))
            tokens = await self.runner.billed_tokens(job_id, attempts)
            record = build_record(
                job_id, alert, attempt.state, tokens, attempt.retries, self.settings
            )
        except (RedisError, OSError):
            raise
        except Exception as exc:
            reason = f"attempt {attempts}: {type(exc).__name__}: {exc}"
            log.warning("job %s: %s", job_id, reason)
            await queue.retry_later(job_id, me, reason[:500])
            return
        if await queue.complete(job_id, record["status"], record, me):
            self.metrics.tokens.inc(record["tokens"])  # billed once: only by the completer
            self.metrics.cost.inc(record["cost_usd"])
            self.metrics.jobs_completed.labels(record["status"]).inc()
            await self.store.save(record, None, fresh_answers(attempt.state))
        await queue.ack(entry)
        await self.runner.forget(job_id, attempts)

    def _on_resume(self, job_id: str) -> Callable[[str], Awaitable[None]]:
        """The runner's resume hook: record ``resumed_from`` on the job, then count it."""

        async def resumed(node: str) -> None:
            await self.queue.set_resumed(job_id, node)
            self.metrics.jobs_resumed.inc()

        return resumed


async def _finish(tasks: list[asyncio.Task[None] | None], timeout_s: float) -> None:
    """Wait up to ``timeout_s`` for ``tasks``; cancel what is left and wait once more."""
    pending = [t for t in tasks if t is not None and not t.done()]
    if not pending:
        return
    _, left = await asyncio.wait(pending, timeout=timeout_s)
    for task in left:
        task.cancel()
    if left:
        await asyncio.wait(left, timeout=STOP_MARGIN_S)
