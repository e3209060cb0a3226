"""Faults in force: target -> active fault, with expiry on a monotonic clock.

An expired fault vanishes from every read, so it stops being listed and stops applying at the
same instant. A call hits a *call target* (``llm`` or ``tool:<name>``); for a tool the
``tool:<name>`` fault, when there is one, overrides the ``tools`` fault (no merging) — when the
server offers a ``tools`` target at all.

Rate limits are buckets owned by the fault: a ``tools`` limit of 5 req/s is shared by all
tools. The request bucket holds ``max(1, rps)`` tokens; the token budget holds one minute of
``rate_limit_tpm`` and is charged *after* a call with the ``usage`` it reported, so it may go
below zero (the next calls are refused until it refills).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from faults.model import (
    LLM_ONLY,
    LLM_TARGET,
    TOOL_ONLY,
    TOOL_PREFIX,
    TOOLS_TARGET,
    FaultSpec,
    InvalidFault,
    UnknownTarget,
    is_tool_target,
)


class TokenBucket:
    """A token bucket refilled at ``rate`` tokens/s holding at most ``max(1, rate)`` tokens."""

    def __init__(self, rate: float, now: float, capacity: float | None = None) -> None:
        self.rate = rate
        self.capacity = capacity if capacity is not None else max(1.0, rate)
        self.tokens = self.capacity
        self.stamp = now

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.stamp)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.stamp = now

    def take(self, now: float) -> bool:
        """Take one token at time ``now``; False when the bucket is empty (call is over limit)."""
        self._refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def has_credit(self, now: float) -> bool:
        """True while the balance is positive (a token budget admits the call)."""
        self._refill(now)
        return self.tokens > 0.0

    def charge(self, amount: float, now: float) -> None:
        """Spend ``amount`` tokens after the fact; the balance may go negative."""
        self._refill(now)
        self.tokens -= amount


@dataclass(eq=False)
class ActiveFault:
    """A fault in force on ``target`` until ``deadline`` (monotonic) / ``expires_at`` (epoch)."""

    target: str
    spec: FaultSpec
    deadline: float
    expires_at: float
    bucket: TokenBucket | None = field(default=None, repr=False)
    budget: TokenBucket | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {**self.spec.model_dump(mode="json"), "expires_at": self.expires_at}


class FaultStore:
    """Active faults by target, with expiry on a monotonic clock (injectable for tests).

    ``targets``: the names a fault can be set on. ``ttl_setting``: how the TTL ceiling is named
    in errors (the setting a user changes). ``unsupported``: spec fields this server cannot
    apply, with the reason (refused with ``InvalidFault`` when set).
    """

    def __init__(
        self,
        targets: Iterable[str],
        max_ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        ttl_setting: str = "max_fault_ttl_s",
        unsupported: Mapping[str, str] | None = None,
    ) -> None:
        self.targets: tuple[str, ...] = tuple(targets)
        self.max_ttl_s = max_ttl_s
        self.clock = clock
        self.wall = wall
        self.ttl_setting = ttl_setting
        self.unsupported = dict(unsupported or {})
        self._faults: dict[str, ActiveFault] = {}

    def check_target(self, target: str) -> str:
        """Return ``target`` if a fault can be set on it, else raise ``UnknownTarget``."""
        if target not in self.targets:
            raise UnknownTarget(
                f"unknown fault target {target!r}: expected one of {', '.join(self.targets)}"
            )
        return target

    def check_fit(self, target: str, spec: FaultSpec) -> None:
        """Raise ``InvalidFault`` when ``spec`` exceeds the TTL ceiling or misfits ``target``."""
        if spec.ttl_s > self.max_ttl_s:
            raise InvalidFault(
                f"ttl_s {spec.ttl_s:g} exceeds {self.ttl_setting} ({self.max_ttl_s:g} s)"
            )
        for name, reason in self.unsupported.items():
            if getattr(spec, name) != FaultSpec.model_fields[name].default:
                raise InvalidFault(f"{name} is not supported here: {reason}")
        if spec.lie and target == LLM_TARGET:
            raise InvalidFault("lie applies to tool targets (tools, tool:<name>), not llm")
        if spec.hallucinate and target != LLM_TARGET:
            raise InvalidFault(f"hallucinate applies to the llm target, not {target}")
        defaults = FaultSpec()
        for name in LLM_ONLY:
            if target != LLM_TARGET and getattr(spec, name) != getattr(defaults, name):
                raise InvalidFault(f"{name} applies to the llm target, not {target}")
        for name in TOOL_ONLY:
            if not is_tool_target(target) and getattr(spec, name) != getattr(defaults, name):
                raise InvalidFault(f"{name} applies to tool targets, not {target}")

    def put(self, target: str, spec: FaultSpec) -> ActiveFault:
        """Set (replace) the fault on ``target``; raise ``UnknownTarget`` or ``InvalidFault``."""
        self.check_target(target)
        self.check_fit(target, spec)
        now = self.clock()
        bucket = TokenBucket(spec.rate_limit_rps, now) if spec.rate_limit_rps else None
        budget = None
        if spec.rate_limit_tpm:
            budget = TokenBucket(spec.rate_limit_tpm / 60.0, now, capacity=spec.rate_limit_tpm)
        fault = ActiveFault(
            target, spec, now + spec.ttl_s, self.wall() + spec.ttl_s, bucket, budget
        )
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
        if not self._faults:
            return None
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
        self.check_target(target)
        if self.get(target) is None:
            return []
        del self._faults[target]
        return [target]

    def clear_all(self) -> list[str]:
        """Remove every fault; the unexpired targets that were cleared."""
        cleared = sorted(self.active())
        self._faults.clear()
        return cleared
