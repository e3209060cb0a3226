"""Agent configuration: environment variables with the ``AGENT_`` prefix, validated at start.

Every knob of every resilience mechanism lives here, so an experiment can tune one without code.
``AGENT_WEAKNESS`` switches exactly one mechanism off (see :data:`WEAKNESSES`); the resolved,
effective values (after a weakness is applied) come from :meth:`Settings.policy`.
"""

from __future__ import annotations

import math
import socket
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from target_agent.agent.weaknesses import WEAKNESSES, Weakness

__all__ = ["NO_TIMEOUT_S", "WEAKNESSES", "DependencyPolicy", "Settings", "Weakness", "get_settings"]

#: What ``no_timeouts`` turns every timeout into: long enough to look like "none".
NO_TIMEOUT_S = 300.0
#: Slack on top of "one request deadline plus the write-behind flush" for a graceful shutdown.
SHUTDOWN_MARGIN_S = 2.0


@dataclass(frozen=True)
class DependencyPolicy:
    """The effective resilience policy of one dependency (llm, tool:<name>, redis)."""

    timeout_s: float
    max_attempts: int
    backoff_base_s: float
    backoff_max_s: float
    honour_retry_after: bool
    retry_after_max_s: float
    budget: bool
    budget_ratio: float
    budget_burst: float
    budget_min_per_s: float
    breaker: bool
    breaker_threshold: int
    breaker_ttl_s: float
    concurrency: int


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AGENT_", extra="ignore")

    toolbox_url: str = "http://127.0.0.1:8100"
    llm_base_url: str = ""  # default: <toolbox_url>/v1
    llm_api_key: str = "stampede-local"
    llm_model: str = "stampede-sim"
    # Stream the LLM's answers (SSE, ``stream: true``); tokens still come from ``usage``, and
    # the per-attempt timeout bounds the whole stream. ``stampede up --env AGENT_LLM_STREAM=true``.
    llm_stream: bool = False
    redis_url: str = "redis://127.0.0.1:6390/0"
    weakness: str = ""
    replica: str = Field(default_factory=socket.gethostname)

    # Load shedding and the write-behind buffer (per worker process).
    max_in_flight: int = 32
    shed_retry_after_s: int = 1
    write_behind_max: int = 1000
    write_behind_flush_interval_s: float = 0.5
    shutdown_flush_s: float = 5.0
    # Request bodies over this many bytes are refused with 413 before they are parsed.
    max_body_bytes: int = 256 * 1024

    # Overall request deadline and per-attempt timeouts.
    deadline_s: float = 10.0
    llm_timeout_s: float = 4.0
    tool_timeout_s: float = 1.0
    redis_timeout_s: float = 0.3

    # Retries: exponential backoff with full jitter, Retry-After honoured up to a cap.
    retry_max_attempts: int = 3
    retry_backoff_base_s: float = 0.05
    retry_backoff_max_s: float = 1.0
    retry_after_max_s: float = 5.0
    redis_max_attempts: int = 2
    # Retry budget (token bucket per dependency): each first attempt deposits `ratio` tokens,
    # each retry withdraws one; the bucket holds at most `burst` and refills `min_per_s`.
    retry_budget_ratio: float = 0.2
    retry_budget_burst: float = 10.0
    retry_budget_min_per_s: float = 1.0
    # retry_storm: this many attempts, no backoff, no budget, Retry-After ignored.
    storm_max_attempts: int = 10

    # Circuit breaker (per dependency, per worker process).
    breaker_threshold: int = 10
    breaker_ttl_s: float = 5.0

    # Concurrency limits (per dependency, per worker process).
    llm_concurrency: int = 32
    tool_concurrency: int = 32
    redis_concurrency: int = 64

    # Storage and accounting.
    record_ttl_s: int = 86_400
    cache_ttl_s: int = 3_600
    idempotency_wait_s: float = 5.0
    # An Idempotency-Key claim locks the key for the request deadline plus this margin.
    idempotency_lock_margin_s: float = 5.0
    cost_per_1k_tokens_usd: float = 0.002

    # Durable investigations (POST /investigations, target_agent/agent/jobs/): a Redis Streams
    # queue with a consumer group, reclaimed after the visibility timeout, and LangGraph
    # checkpoints shared by every worker ("sqlite": one WAL file; "postgres": a server).
    jobs_enabled: bool = True
    job_stream: str = "stampede:jobs"
    job_visibility_timeout_s: float = 5.0
    job_max_attempts: int = 3
    job_concurrency: int = 8
    job_block_s: float = 1.0
    job_retry_after_s: int = 1
    # Admission: POST /investigations answers 503 (nothing stored) while this many accepted
    # jobs are not yet finished (pending, running or retrying), counted by the queue in Redis.
    job_queue_limit: int = 1000
    checkpoint_backend: Literal["sqlite", "postgres"] = "sqlite"
    checkpoint_path: str = ""  # default: <tmp>/stampede-agent/checkpoints.sqlite
    checkpoint_postgres_dsn: str = ""

    @field_validator("weakness")
    @classmethod
    def _known_weakness(cls, value: str) -> str:
        value = value.strip()
        if value and value not in WEAKNESSES:
            raise ValueError(
                f"AGENT_WEAKNESS must be empty or one of {', '.join(WEAKNESSES)}; got {value!r}"
            )
        return value

    @field_validator("toolbox_url", "llm_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an http(s) URL, got {value!r}")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"AGENT_REDIS_URL must be a redis:// URL, got {value!r}")
        return value

    @field_validator(
        "max_in_flight",
        "write_behind_max",
        "retry_max_attempts",
        "redis_max_attempts",
        "storm_max_attempts",
        "breaker_threshold",
        "llm_concurrency",
        "tool_concurrency",
        "redis_concurrency",
        "record_ttl_s",
        "cache_ttl_s",
        "max_body_bytes",
        "job_max_attempts",
        "job_concurrency",
        "job_retry_after_s",
        "job_queue_limit",
    )
    @classmethod
    def _positive_int(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"must be >= 1, got {value}")
        return value

    @field_validator(
        "deadline_s",
        "llm_timeout_s",
        "tool_timeout_s",
        "redis_timeout_s",
        "breaker_ttl_s",
        "write_behind_flush_interval_s",
        "retry_budget_burst",
        "job_visibility_timeout_s",
        "job_block_s",
    )
    @classmethod
    def _positive_float(cls, value: float) -> float:
        if value <= 0:
            raise ValueError(f"must be > 0, got {value}")
        return value

    @field_validator(
        "retry_backoff_base_s",
        "retry_backoff_max_s",
        "retry_after_max_s",
        "retry_budget_min_per_s",
        "shutdown_flush_s",
        "idempotency_wait_s",
        "idempotency_lock_margin_s",
        "cost_per_1k_tokens_usd",
        "shed_retry_after_s",
    )
    @classmethod
    def _non_negative(cls, value: float) -> float:
        if value < 0:
            raise ValueError(f"must be >= 0, got {value}")
        return value

    @field_validator("retry_budget_ratio")
    @classmethod
    def _ratio(cls, value: float) -> float:
        if not 0 <= value <= 1:
            raise ValueError(f"must be between 0 and 1, got {value}")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if not self.llm_base_url:
            self.llm_base_url = f"{self.toolbox_url}/v1"
        if self.checkpoint_backend == "postgres" and not self.checkpoint_postgres_dsn:
            raise ValueError(
                "AGENT_CHECKPOINT_BACKEND=postgres needs AGENT_CHECKPOINT_POSTGRES_DSN"
            )
        for name in ("llm_timeout_s", "tool_timeout_s", "redis_timeout_s"):
            if getattr(self, name) > self.deadline_s:
                raise ValueError(
                    f"AGENT_{name.upper()} ({getattr(self, name)}) must not exceed "
                    f"AGENT_DEADLINE_S ({self.deadline_s})"
                )
        return self

    @property
    def request_deadline_s(self) -> float:
        """The overall deadline of one investigation (``no_timeouts`` makes it 300 s)."""
        return NO_TIMEOUT_S if self.weakness == Weakness.NO_TIMEOUTS else self.deadline_s

    @property
    def idempotency_lock_ttl_s(self) -> float:
        """How long a claimed Idempotency-Key stays locked if its worker dies mid-way."""
        return self.request_deadline_s + self.idempotency_lock_margin_s

    @property
    def graceful_shutdown_s(self) -> int:
        """The server's graceful-shutdown timeout this agent needs (uvicorn's, whole seconds).

        Longer than one request deadline (in-flight work drains) plus the write-behind flush,
        plus `SHUTDOWN_MARGIN_S`. The configured ``deadline_s``: ``no_timeouts`` removes the
        deadline, and a shutdown cannot wait for ever.
        """
        return math.ceil(self.deadline_s + self.shutdown_flush_s + SHUTDOWN_MARGIN_S)

    def policy(self, dependency: str) -> DependencyPolicy:
        """The effective policy of ``dependency`` (``llm``, ``redis`` or ``tool:<name>``)."""
        weakness = self.weakness
        if dependency == "llm":
            timeout, concurrency = self.llm_timeout_s, self.llm_concurrency
        elif dependency == "redis":
            timeout, concurrency = self.redis_timeout_s, self.redis_concurrency
        else:
            timeout, concurrency = self.tool_timeout_s, self.tool_concurrency
        attempts = self.redis_max_attempts if dependency == "redis" else self.retry_max_attempts
        storm = weakness == Weakness.RETRY_STORM
        if weakness == Weakness.NO_RETRIES:
            attempts = 1
        elif storm:
            attempts = self.storm_max_attempts
        return DependencyPolicy(
            timeout_s=NO_TIMEOUT_S if weakness == Weakness.NO_TIMEOUTS else timeout,
            max_attempts=attempts,
            backoff_base_s=0.0 if storm else self.retry_backoff_base_s,
            backoff_max_s=0.0 if storm else self.retry_backoff_max_s,
            honour_retry_after=not storm,
            retry_after_max_s=self.retry_after_max_s,
            budget=not storm,
            budget_ratio=self.retry_budget_ratio,
            budget_burst=self.retry_budget_burst,
            budget_min_per_s=self.retry_budget_min_per_s,
            breaker=weakness != Weakness.NO_BREAKER,
            breaker_threshold=self.breaker_threshold,
            breaker_ttl_s=self.breaker_ttl_s,
            concurrency=concurrency,
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process settings, read from the environment once (tests pass their own instead)."""
    return Settings()
