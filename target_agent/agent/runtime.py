"""Everything one worker process builds at start-up and closes at shutdown (the lifespan's job).

Nothing here runs at import time: :meth:`AgentRuntime.start` creates the HTTP clients, the
Redis client (no connection until first use), one :class:`Dependency` per dependency with its
breaker, the graph, the store and the write-behind flusher.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

import httpx
import redis.asyncio as aioredis
from purgatory import AsyncCircuitBreakerFactory

from target_agent.agent.graph import GraphServices, InvestigationGraph
from target_agent.agent.investigator import Investigator
from target_agent.agent.lifecycle import Lifecycle
from target_agent.agent.llm import LLMClient, build_chat_model
from target_agent.agent.metrics import Metrics, clean_multiprocess_dir, multiprocess_dir
from target_agent.agent.resilience import Dependency
from target_agent.agent.resilience.breaker import Breaker
from target_agent.agent.resilience.dependency import Hooks
from target_agent.agent.resilience.fallback import WriteBehindBuffer
from target_agent.agent.settings import Settings
from target_agent.agent.shedding import Admission
from target_agent.agent.store import Store, build_redis
from target_agent.agent.tools import ToolClient
from target_agent.agent.weaknesses import Weakness
from target_agent.vocabulary import TOOLS

log = logging.getLogger(__name__)


@dataclass
class AgentRuntime:
    settings: Settings
    metrics: Metrics
    hooks: Hooks
    lifecycle: Lifecycle
    http: httpx.AsyncClient
    redis: aioredis.Redis
    dependencies: dict[str, Dependency]
    buffer: WriteBehindBuffer
    store: Store
    graph: InvestigationGraph
    investigator: Investigator
    admission: Admission
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    async def start(cls, settings: Settings) -> AgentRuntime:
        path = multiprocess_dir()
        if path:
            clean_multiprocess_dir(path)
        metrics = Metrics()
        hooks = Hooks()
        factory = AsyncCircuitBreakerFactory()  # in-memory: per worker process

        async def dependency(name: str) -> Dependency:
            policy = settings.policy(name)
            breaker = None
            if policy.breaker:
                breaker = await Breaker.create(
                    factory,
                    name,
                    policy.breaker_threshold,
                    policy.breaker_ttl_s,
                    metrics.set_breaker,
                )
            else:
                metrics.set_breaker(name, "closed")
            return Dependency(name, policy, breaker, metrics, hooks)

        names = ["llm", "redis", *(f"tool:{tool}" for tool in TOOLS)]
        dependencies = {name: await dependency(name) for name in names}

        tool_policy = settings.policy(f"tool:{TOOLS[0]}")
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
        # The toolbox is ours (loopback or in-cluster): proxy variables must not reroute it.
        http = httpx.AsyncClient(limits=limits, timeout=tool_policy.timeout_s, trust_env=False)
        llm_policy = settings.policy("llm")
        chat = build_chat_model(
            settings.llm_base_url,
            settings.llm_api_key,
            settings.llm_model,
            llm_policy.timeout_s,
            http,
            stream=settings.llm_stream,
        )
        redis_policy = settings.policy("redis")
        client = build_redis(
            settings.redis_url, redis_policy.timeout_s, redis_policy.concurrency + 8
        )
        buffer = WriteBehindBuffer(settings.write_behind_max)
        store = Store(
            client,
            dependencies["redis"],
            buffer,
            metrics,
            settings.record_ttl_s,
            settings.cache_ttl_s,
        )
        graph = InvestigationGraph(
            GraphServices(
                llm=LLMClient(chat),
                llm_dependency=dependencies["llm"],
                tools=ToolClient(http, settings.toolbox_url),
                tool_dependencies={tool: dependencies[f"tool:{tool}"] for tool in TOOLS},
                store=store,
                metrics=metrics,
                llm_timeout_s=llm_policy.timeout_s,
                tool_timeout_s=tool_policy.timeout_s,
                trust_tools=settings.weakness == Weakness.TRUST_TOOLS,
            )
        )
        lifecycle = Lifecycle(graceful=settings.weakness != Weakness.NO_GRACEFUL_SHUTDOWN)
        lifecycle.install()
        runtime = cls(
            settings=settings,
            metrics=metrics,
            hooks=hooks,
            lifecycle=lifecycle,
            http=http,
            redis=client,
            dependencies=dependencies,
            buffer=buffer,
            store=store,
            graph=graph,
            investigator=Investigator(settings, graph, store, metrics),
            admission=Admission(settings.max_in_flight, buffer, metrics),
        )
        metrics.write_behind_depth.set(0)
        runtime.tasks.append(
            asyncio.create_task(store.run_flusher(settings.write_behind_flush_interval_s))
        )
        return runtime

    async def stop(self) -> None:
        """Drain: readiness already fails; flush the write-behind buffer (bounded), close."""
        self.lifecycle.start_draining()
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        left = await self.store.flush_all(self.settings.shutdown_flush_s)
        if left:
            log.error("shutdown: %d investigation records could not reach Redis and are lost", left)
        self.lifecycle.uninstall()
        await self.http.aclose()
        await self.redis.aclose()  # type: ignore[attr-defined]  # types-redis predates aclose
