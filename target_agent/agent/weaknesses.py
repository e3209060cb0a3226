"""The mechanisms ``AGENT_WEAKNESS`` can switch off, one at a time.

Each weakened agent must fail the suite on the right SLO while the real one passes: that is how
the harness proves it sees what each mechanism buys (docs/detection.md).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["WEAKNESSES", "Weakness"]


class Weakness(StrEnum):
    """One mechanism turned off; the value is what ``AGENT_WEAKNESS`` is set to."""

    NO_RETRIES = "no_retries"
    NO_BREAKER = "no_breaker"
    NO_TIMEOUTS = "no_timeouts"
    RETRY_STORM = "retry_storm"
    READINESS_ON_REDIS = "readiness_on_redis"
    NO_GRACEFUL_SHUTDOWN = "no_graceful_shutdown"
    TRUST_TOOLS = "trust_tools"
    NO_CHECKPOINT = "no_checkpoint"  # a reclaimed job restarts from scratch
    NO_RECLAIM = "no_reclaim"  # jobs of a dead worker are never reclaimed


#: Every weakness's value, in declaration order (the order of the detection matrix).
WEAKNESSES: tuple[str, ...] = tuple(w.value for w in Weakness)
