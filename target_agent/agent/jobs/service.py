"""The durable investigations of one worker process: queue, checkpointer and job worker.

Built by the app's lifespan after the :class:`AgentRuntime` (``Jobs.start``) and closed before
it. The queue has its own Redis client, built like the store's (same URL, so the same
credentials, no hidden retries) but with a socket timeout longer than ``XREADGROUP``'s block.
"""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from dataclasses import dataclass

import redis.asyncio as aioredis

from target_agent.agent.jobs.checkpoints import open_checkpointer
from target_agent.agent.jobs.queue import JobQueue
from target_agent.agent.jobs.runner import DurableRunner
from target_agent.agent.jobs.worker import JobWorker
from target_agent.agent.runtime import AgentRuntime
from target_agent.agent.store import build_redis
from target_agent.agent.weaknesses import Weakness

log = logging.getLogger(__name__)

SOCKET_MARGIN_S = 2.0


@dataclass
class Jobs:
    queue: JobQueue
    worker: JobWorker
    client: aioredis.Redis
    exits: AsyncExitStack
    grace_s: float

    @classmethod
    async def start(cls, runtime: AgentRuntime) -> Jobs:
        """Open the checkpointer, build the queue and start this process's job worker."""
        settings = runtime.settings
        exits = AsyncExitStack()
        try:
            checkpointer = await exits.enter_async_context(open_checkpointer(settings))
            client = build_redis(
                settings.redis_url,
                max(settings.redis_timeout_s, settings.job_block_s + SOCKET_MARGIN_S),
                settings.job_concurrency + 8,
            )
            exits.push_async_callback(client.aclose)  # type: ignore[attr-defined]
            queue = JobQueue(
                client, settings.job_stream, settings.record_ttl_s, settings.job_queue_limit
            )
            runner = DurableRunner(
                runtime.graph,
                checkpointer,
                settings,
                resume=settings.weakness != Weakness.NO_CHECKPOINT,
            )
            worker = JobWorker(
                queue,
                runner,
                runtime.store,
                runtime.metrics,
                settings,
                reclaim=settings.weakness != Weakness.NO_RECLAIM,
            )
        except BaseException:
            await exits.aclose()
            raise
        worker.start()
        return cls(queue, worker, client, exits, settings.shutdown_flush_s)

    async def stop(self) -> None:
        """Let running jobs finish (bounded), then close the checkpointer and the client."""
        try:
            await self.worker.stop(self.grace_s)
        finally:
            await self.exits.aclose()
