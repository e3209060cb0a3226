"""Probes of the local stack's Redis.

No ``from __future__ import annotations`` in activity modules: Chaos Toolkit's discovery reads
the annotation objects, and string annotations would all be reported as "object".
"""

from chaoslib.types import Configuration, Secrets

from experiments.activities import _local
from experiments.activities.redis import _client

__all__ = ["redis_answers_ping"]


def redis_answers_ping(
    timeout_s: float = 1.0,
    state_file: str = "",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> bool:
    """Tell whether the stack's Redis answers PING in `timeout_s`; raises only without a stack."""
    state = _local.load(state_file, configuration)
    return _client.answers_ping(state, timeout_s)
