"""Durable investigations: a Redis Streams work queue and shared LangGraph checkpoints."""

from __future__ import annotations

from target_agent.agent.jobs.queue import PUBLIC_STATUS, TERMINAL, JobQueue, QueueFull, Submitted
from target_agent.agent.jobs.service import Jobs

__all__ = ["PUBLIC_STATUS", "TERMINAL", "JobQueue", "Jobs", "QueueFull", "Submitted"]
