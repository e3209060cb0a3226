"""Concurrency limit per dependency: a semaphore whose waiting is bounded by the deadline."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from target_agent.agent.resilience.errors import NoCapacity
from target_agent.agent.resilience.timeouts import Deadline


class ConcurrencyLimit:
    """At most ``limit`` calls to one dependency at a time from this worker."""

    def __init__(self, dependency: str, limit: int) -> None:
        self.dependency = dependency
        self.limit = limit
        self._sem = asyncio.Semaphore(limit)

    @property
    def in_use(self) -> int:
        return self.limit - self._sem._value

    @asynccontextmanager
    async def slot(self, deadline: Deadline) -> AsyncIterator[None]:
        """Hold one slot; raise :class:`NoCapacity` when none frees up before the deadline."""
        if self._sem.locked():
            try:
                async with asyncio.timeout(deadline.remaining()):
                    await self._sem.acquire()
            except TimeoutError:
                raise NoCapacity(
                    self.dependency, f"all {self.limit} slots busy until the deadline"
                ) from None
        else:
            await self._sem.acquire()
        try:
            yield
        finally:
            self._sem.release()
