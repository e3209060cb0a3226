"""The fault model: what may be injected, where, and for how long.

* ``FaultSpec`` — the body of ``PUT /faults/{target}``, with bounds (422 outside them).
* ``ActiveFault`` — a spec in force: its deadline (monotonic clock) and its token bucket.
* ``FaultStore`` — target -> active fault; an expired fault vanishes from every read, so it stops
  being listed and stops applying at the same instant.

Targets a fault can be set on: ``llm``, ``tools`` (every tool) and ``tool:<name>``. A call hits a
*call target* (``llm`` or ``tool:<name>``); for a tool the ``tool:<name>`` fault, when there is
one, overrides the ``tools`` fault (no merging). A rate limit is one token bucket per fault: a
``tools`` limit of 5 req/s is shared by all tools; the bucket holds ``max(1, rps)`` tokens.

Errors::

    FaultError (ValueError)
    ├── UnknownTarget   the target names nothing we serve (HTTP 404)
    └── InvalidFault    the spec does not fit the target or the TTL ceiling (HTTP 422)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from target_agent.toolbox.catalogue import TOOLS

LLM_TARGET = "llm"
TOOLS_TARGET = "tools"
TOOL_PREFIX = "tool:"
TOOL_TARGETS: tuple[str, ...] = tuple(f"{TOOL_PREFIX}{tool}" for tool in TOOLS)
#: Targets a fault can be set on.
FAULT_TARGETS: tuple[str, ...] = (LLM_TARGET, TOOLS_TARGET, *TOOL_TARGETS)
#: Targets a call can hit (the ``target`` label of ``toolbox_calls_total``).
CALL_TARGETS: tuple[str, ...] = (LLM_TARGET, *TOOL_TARGETS)

#: Bounds of the delay knobs, in ms (two minutes: longer is a hang, which has its own knob).
MAX_DELAY_MS = 120_000.0
MAX_RATE_LIMIT_RPS = 10_000.0
MAX_RETRY_AFTER_S = 3_600


class FaultError(ValueError):
    """A fault request the store refuses."""


class UnknownTarget(FaultError):
    """The fault target names nothing the toolbox serves."""


class InvalidFault(FaultError):
    """The fault spec does not fit its target or exceeds the TTL ceiling."""


def tool_target(tool: str) -> str:
    return f"{TOOL_PREFIX}{tool}"


def check_target(target: str) -> str:
    """Return ``target`` if a fault can be set on it, else raise ``UnknownTarget``."""
    if target not in FAULT_TARGETS:
        raise UnknownTarget(
            f"unknown fault target {target!r}: expected one of {', '.join(FAULT_TARGETS)}"
        )
    return target


class FaultSpec(BaseModel):
    """What to inject on one target. Every field is optional; ``ttl_s`` defaults to 60 s."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    error_rate: float = Field(default=0.0, ge=0.0, le=1.0, description="share of calls that fail")
    error_status: int = Field(
        default=500, ge=400, le=599, description="HTTP status of a failed call"
    )
    latency_ms: float = Field(default=0.0, ge=0.0, le=MAX_DELAY_MS, description="added delay")
    jitter_ms: float = Field(
        default=0.0, ge=0.0, le=MAX_DELAY_MS, description="extra delay U(0, j)"
    )
    hang: bool = Field(default=False, description="hold the call until the client leaves or expiry")
    rate_limit_rps: float | None = Field(default=None, gt=0.0, le=MAX_RATE_LIMIT_RPS)
    retry_after_s: int = Field(
        default=1, ge=0, le=MAX_RETRY_AFTER_S, description="Retry-After value"
    )
    lie: bool = Field(
        default=False, description="tools only: valid data, findings support the decoy"
    )
    hallucinate: bool = Field(default=False, description="llm only: the reasoner names the decoy")
    ttl_s: float = Field(default=60.0, ge=1.0, description="seconds until the fault expires")


class TokenBucket:
    """A token bucket refilled at ``rate`` tokens/s holding at most ``max(1, rate)`` tokens."""

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.stamp = now

    def take(self, now: float) -> bool:
        """Take one token at time ``now``; False when the bucket is empty (call is over limit)."""
        elapsed = max(0.0, now - self.stamp)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass(eq=False)
class ActiveFault:
    """A fault in force on ``target`` until ``deadline`` (monotonic) / ``expires_at`` (epoch)."""

    target: str
    spec: FaultSpec
    deadline: float
    expires_at: float
    bucket: TokenBucket | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {**self.spec.model_dump(), "expires_at": self.expires_at}


class FaultStore:
    """Active faults by target, with expiry on a monotonic clock (injectable for tests)."""

    def __init__(
        self,
        max_ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.max_ttl_s = max_ttl_s
        self.clock = clock
        self.wall = wall
        self._faults: dict[str, ActiveFault] = {}

    def put(self, target: str, spec: FaultSpec) -> ActiveFault:
        """Set (replace) the fault on ``target``; raise ``UnknownTarget`` or ``InvalidFault``."""
        check_target(target)
        if spec.ttl_s > self.max_ttl_s:
            raise InvalidFault(
                f"ttl_s {spec.ttl_s:g} exceeds TOOLBOX_MAX_FAULT_TTL_S ({self.max_ttl_s:g} s)"
            )
        if spec.lie and target == LLM_TARGET:
            raise InvalidFault("lie applies to tool targets (tools, tool:<name>), not llm")
        if spec.hallucinate and target != LLM_TARGET:
            raise InvalidFault(f"hallucinate applies to the llm target, not {target}")
        now = self.clock()
        bucket = TokenBucket(spec.rate_limit_rps, now) if spec.rate_limit_rps else None
        fault = ActiveFault(target, spec, now + spec.ttl_s, self.wall() + spec.ttl_s, bucket)
        self._faults[target] = fault
        return fault

    def get(self, target: str) -> ActiveFault | None:
        """The unexpired fault set on ``target`` (an expired one is dropped on the way)."""
        fault = self._faults.get(target)
        if fault is not None and fault.deadline <= self.clock():
            del self._faults[target]
            return None
        return fault

    def active(self) -> dict[str, ActiveFault]:
        """Every unexpired fault, by target."""
        for target in list(self._faults):
            self.get(target)
        return dict(self._faults)

    def effective(self, call_target: str) -> ActiveFault | None:
        """The fault that applies to a call on ``call_target`` (``tool:<name>`` over ``tools``)."""
        if call_target.startswith(TOOL_PREFIX):
            return self.get(call_target) or self.get(TOOLS_TARGET)
        return self.get(call_target)

    def is_current(self, fault: ActiveFault) -> bool:
        """True while ``fault`` is unexpired and neither cleared nor replaced."""
        return self.get(fault.target) is fault

    def remaining_s(self, fault: ActiveFault) -> float:
        return max(0.0, fault.deadline - self.clock())

    def clear(self, target: str) -> list[str]:
        """Remove the fault on ``target``; the targets actually cleared (idempotent)."""
        check_target(target)
        if self.get(target) is None:
            return []
        del self._faults[target]
        return [target]

    def clear_all(self) -> list[str]:
        """Remove every fault; the unexpired targets that were cleared."""
        cleared = sorted(self.active())
        self._faults.clear()
        return cleared
