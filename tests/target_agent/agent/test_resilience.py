"""The resilience mechanisms in isolation, with plain async functions as the dependency."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from purgatory import AsyncCircuitBreakerFactory
from pydantic import ValidationError

from target_agent.agent.metrics import Metrics
from target_agent.agent.resilience import (
    AttemptTimeout,
    BreakerOpen,
    CallStats,
    Deadline,
    Dependency,
    DependencyUnavailable,
    NoCapacity,
    NotFound,
)
from target_agent.agent.resilience.breaker import Breaker
from target_agent.agent.resilience.budget import RetryBudget
from target_agent.agent.resilience.dependency import Hooks
from target_agent.agent.resilience.errors import parse_retry_after
from target_agent.agent.resilience.retry import RetryDetails
from target_agent.agent.settings import WEAKNESSES, DependencyPolicy, Settings
from tests.target_agent.agent.support import JOB_WEAKNESSES

pytestmark = pytest.mark.anyio


def policy(**overrides: object) -> DependencyPolicy:
    values: dict[str, object] = {
        "timeout_s": 0.2,
        "max_attempts": 3,
        "backoff_base_s": 0.001,
        "backoff_max_s": 0.002,
        "honour_retry_after": True,
        "retry_after_max_s": 5.0,
        "budget": True,
        "budget_ratio": 0.2,
        "budget_burst": 10.0,
        "budget_min_per_s": 0.0,
        "breaker": True,
        "breaker_threshold": 3,
        "breaker_ttl_s": 0.3,
        "concurrency": 8,
    }
    values.update(overrides)
    return DependencyPolicy(**values)  # type: ignore[arg-type]


async def dependency(metrics: Metrics, **overrides: object) -> Dependency:
    pol = policy(**overrides)
    breaker = None
    if pol.breaker:
        breaker = await Breaker.create(
            AsyncCircuitBreakerFactory(),
            "tool:x",
            pol.breaker_threshold,
            pol.breaker_ttl_s,
            metrics.set_breaker,
        )
    return Dependency("tool:x", pol, breaker, metrics, Hooks())


def failing(
    times: int, exc: Callable[[], Exception]
) -> tuple[Callable[[float], object], list[int]]:
    calls: list[int] = []

    async def fn(_timeout: float) -> str:
        calls.append(1)
        if len(calls) <= times:
            raise exc()
        return "ok"

    return fn, calls


def unavailable() -> Exception:
    return DependencyUnavailable("tool:x", "HTTP 503", status=503)


async def test_transient_failures_are_retried_and_counted() -> None:
    metrics = Metrics()
    dep = await dependency(metrics)
    fn, calls = failing(2, unavailable)
    stats = CallStats()
    assert await dep.call(fn, Deadline(5), stats) == "ok"  # type: ignore[arg-type]
    assert len(calls) == 3 and stats.retries == 2
    assert metrics.retries.labels("tool:x")._value.get() == 2


async def test_client_errors_and_rejections_are_not_retried() -> None:
    dep = await dependency(Metrics())
    fn, calls = failing(5, lambda: NotFound("tool:x", "404"))
    with pytest.raises(NotFound):
        await dep.call(fn, Deadline(5))  # type: ignore[arg-type]
    assert len(calls) == 1


async def test_attempt_timeout_is_enforced_and_retryable() -> None:
    dep = await dependency(Metrics(), timeout_s=0.05, max_attempts=2, breaker=False)
    calls = 0

    async def hang(_timeout: float) -> None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(10)

    started = time.monotonic()
    with pytest.raises(AttemptTimeout):
        await dep.call(hang, Deadline(5))
    assert calls == 2
    assert time.monotonic() - started < 1.0


async def test_retry_after_is_honoured_and_capped_by_the_deadline() -> None:
    """A 429 with Retry-After 0.3 waits >= 0.3 s; one that exceeds the deadline is not retried."""
    dep = await dependency(Metrics(), breaker=False)
    waits: list[RetryDetails] = []
    dep.hooks.on_retry.append(waits.append)
    fn, calls = failing(
        1, lambda: DependencyUnavailable("tool:x", "429", status=429, retry_after=0.3)
    )
    started = time.monotonic()
    assert await dep.call(fn, Deadline(5)) == "ok"  # type: ignore[arg-type]
    assert time.monotonic() - started >= 0.3
    assert waits[0].wait_s >= 0.3 and waits[0].retry_after_s == 0.3

    fn, calls = failing(
        1, lambda: DependencyUnavailable("tool:x", "429", status=429, retry_after=2.0)
    )
    started = time.monotonic()
    with pytest.raises(DependencyUnavailable):
        await dep.call(fn, Deadline(1.0))  # type: ignore[arg-type]
    assert len(calls) == 1 and time.monotonic() - started < 0.5


async def test_retry_budget_caps_retries_and_counts_exhaustion() -> None:
    """With every call failing, retries <= burst + ratio * calls, then none at all."""
    metrics = Metrics()
    dep = await dependency(metrics, breaker=False, budget_burst=2.0, budget_ratio=0.1)
    stats = CallStats()
    for _ in range(20):
        fn, _calls = failing(100, unavailable)
        with pytest.raises(DependencyUnavailable):
            await dep.call(fn, Deadline(5), stats)  # type: ignore[arg-type]
    assert stats.retries <= 2 + 0.1 * 20
    assert metrics.budget_exhausted.labels("tool:x")._value.get() >= 15


def test_budget_refills_with_traffic() -> None:
    budget = RetryBudget(ratio=0.5, burst=1.0, min_per_s=0.0)
    assert budget.try_withdraw() and not budget.try_withdraw()
    budget.deposit()
    budget.deposit()
    assert budget.try_withdraw()


async def test_breaker_opens_fails_fast_then_lets_one_probe_through() -> None:
    metrics = Metrics()
    dep = await dependency(metrics, max_attempts=1)
    fn, calls = failing(3, unavailable)
    for _ in range(3):
        with pytest.raises(DependencyUnavailable):
            await dep.call(fn, Deadline(5))  # type: ignore[arg-type]
    assert metrics.breaker_state.labels("tool:x")._value.get() == 2
    with pytest.raises(BreakerOpen):
        await dep.call(fn, Deadline(5))  # type: ignore[arg-type]
    assert len(calls) == 3  # the open breaker did not call

    await asyncio.sleep(0.35)
    gate = asyncio.Event()

    async def slow_probe(_timeout: float) -> str:
        await gate.wait()
        return "ok"

    probe = asyncio.create_task(dep.call(slow_probe, Deadline(5)))
    await asyncio.sleep(0.01)
    with pytest.raises(BreakerOpen, match="probe in flight"):
        await dep.call(fn, Deadline(5))  # type: ignore[arg-type]
    gate.set()
    assert await probe == "ok"
    assert metrics.breaker_state.labels("tool:x")._value.get() == 0
    assert await dep.call(fn, Deadline(5)) == "ok"  # type: ignore[arg-type]


async def test_rate_limits_do_not_trip_the_breaker() -> None:
    """429 means "slow down", not "broken": Retry-After and the budget handle it."""
    dep = await dependency(Metrics(), max_attempts=1, breaker_threshold=2)
    fn, _ = failing(10, lambda: DependencyUnavailable("tool:x", "429", status=429))
    for _ in range(5):
        with pytest.raises(DependencyUnavailable):
            await dep.call(fn, Deadline(5))  # type: ignore[arg-type]
    assert dep.breaker is not None and dep.breaker.state == "closed"


async def test_open_breaker_rejections_do_not_grow_a_traceback() -> None:
    """purgatory re-raises one exception object; its traceback must not pin every frame."""
    dep = await dependency(Metrics(), max_attempts=1, breaker_ttl_s=60)
    fn, _ = failing(100, unavailable)
    for _ in range(3):
        with pytest.raises(DependencyUnavailable):
            await dep.call(fn, Deadline(5))  # type: ignore[arg-type]
    for _ in range(50):
        with pytest.raises(BreakerOpen):
            await dep.call(fn, Deadline(5))  # type: ignore[arg-type]
    assert dep.breaker is not None
    state: BaseException = dep.breaker._ctx._state  # type: ignore[assignment]  # OpenedState
    assert state.__traceback__ is None


async def test_cancelled_attempt_is_neither_failure_nor_success() -> None:
    dep = await dependency(Metrics(), max_attempts=1, breaker_threshold=1)

    async def forever(_timeout: float) -> None:
        await asyncio.sleep(10)

    task = asyncio.create_task(dep.call(forever, Deadline(5)))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert dep.breaker is not None and dep.breaker.state == "closed"


async def test_concurrency_limit_waits_at_most_until_the_deadline() -> None:
    dep = await dependency(Metrics(), concurrency=1, breaker=False, max_attempts=1)
    gate = asyncio.Event()

    async def hold(_timeout: float) -> str:
        await gate.wait()
        return "held"

    holder = asyncio.create_task(dep.call(hold, Deadline(5)))
    await asyncio.sleep(0.01)
    started = time.monotonic()
    with pytest.raises(NoCapacity):
        await dep.call(hold, Deadline(0.1))
    assert time.monotonic() - started < 0.5
    gate.set()
    assert await holder == "held"


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("2", 2.0), (" 0.5 ", 0.5), ("", None), (None, None), ("soon", None), ("-1", None)],
    ids=["int", "float", "empty", "absent", "http-date-or-junk", "negative"],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


def test_unknown_weakness_fails_fast_naming_the_choices() -> None:
    with pytest.raises(ValidationError, match="AGENT_WEAKNESS must be empty or one of no_retries"):
        Settings(weakness="no_verifier")


def test_timeouts_must_fit_in_the_deadline() -> None:
    with pytest.raises(ValidationError, match="AGENT_TOOL_TIMEOUT_S"):
        Settings(deadline_s=3.0, llm_timeout_s=2.0, tool_timeout_s=4.0)


@pytest.mark.parametrize("weakness", WEAKNESSES, ids=WEAKNESSES)
def test_each_weakness_changes_the_effective_policy_or_a_flag(weakness: str) -> None:
    base, weak = Settings(), Settings(weakness=weakness)
    changed = base.policy("tool:get_logs") != weak.policy("tool:get_logs")
    # Flags read where the mechanism lives; the two job weaknesses by the job worker
    # (tests/target_agent/jobs/test_worker_kill.py shows each really disables its mechanism).
    flags = {"readiness_on_redis", "no_graceful_shutdown", "trust_tools", *JOB_WEAKNESSES}
    assert changed or weakness in flags


def test_resilience_package_exports_only_what_exists() -> None:
    import target_agent.agent.resilience as resilience

    assert all(hasattr(resilience, name) for name in resilience.__all__)
    assert sorted(resilience.__all__) == resilience.__all__
