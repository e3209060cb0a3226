"""Fault store, token bucket and injector, on a fake clock (no sleeping)."""

from __future__ import annotations

import random

import pytest
from pydantic import ValidationError

from faults.inject import FaultInjector, InjectedFault
from faults.model import FaultSpec, InvalidFault, UnknownTarget
from faults.store import FaultStore, TokenBucket
from target_agent.toolbox.targets import FAULT_TARGETS, fault_store

pytestmark = pytest.mark.anyio


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> FaultStore:
    return fault_store(max_ttl_s=900, clock=clock, wall=lambda: 5_000.0)


def test_targets_are_llm_tools_and_each_tool() -> None:
    assert FAULT_TARGETS == (
        "llm",
        "tools",
        "tool:check_pods",
        "tool:get_metrics",
        "tool:get_logs",
        "tool:get_deploys",
    )


def test_expired_fault_vanishes_from_every_read(store: FaultStore, clock: FakeClock) -> None:
    store.put("llm", FaultSpec(error_rate=1, ttl_s=5))
    assert store.active()["llm"].as_dict()["expires_at"] == 5_005.0
    clock.now += 4.9
    assert store.effective("llm") is not None
    clock.now += 0.1
    assert store.effective("llm") is None
    assert store.active() == {}
    assert store.clear("llm") == []


def test_tool_fault_overrides_tools_fault(store: FaultStore) -> None:
    store.put("tools", FaultSpec(latency_ms=10))
    store.put("tool:get_logs", FaultSpec(error_rate=1))
    logs, pods = store.effective("tool:get_logs"), store.effective("tool:check_pods")
    assert logs is not None and logs.spec.error_rate == 1 and logs.spec.latency_ms == 0
    assert pods is not None and pods.target == "tools"
    assert store.effective("llm") is None


@pytest.mark.parametrize("target", ["tool:nope", "tool", "TOOLS", "", "llm "], ids=repr)
def test_unknown_target_is_refused(store: FaultStore, target: str) -> None:
    with pytest.raises(UnknownTarget, match="unknown fault target"):
        store.put(target, FaultSpec())
    with pytest.raises(UnknownTarget):
        store.clear(target)


@pytest.mark.parametrize(
    ("target", "spec", "message"),
    [
        ("llm", FaultSpec(ttl_s=901), "exceeds TOOLBOX_MAX_FAULT_TTL_S"),
        ("llm", FaultSpec(lie=True), "lie applies to tool targets"),
        ("tools", FaultSpec(hallucinate=True), "hallucinate applies to the llm target"),
    ],
    ids=["ttl-above-max", "lie-on-llm", "hallucinate-on-tools"],
)
def test_spec_not_fitting_its_target_is_refused(
    store: FaultStore, target: str, spec: FaultSpec, message: str
) -> None:
    with pytest.raises(InvalidFault, match=message):
        store.put(target, spec)


@pytest.mark.parametrize(
    "body",
    [
        {"error_rate": 1.5},
        {"error_rate": -0.1},
        {"error_status": 200},
        {"error_status": 600},
        {"latency_ms": -1},
        {"jitter_ms": 120_001},
        {"rate_limit_rps": 0},
        {"retry_after_s": -1},
        {"ttl_s": 0.5},
        {"error_rate": float("nan")},
        {"latency_ms": float("inf")},
        {"error_rat": 1},
    ],
    ids=lambda body: ",".join(f"{k}={v}" for k, v in body.items()),
)
def test_spec_bounds(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        FaultSpec.model_validate(body)


def test_token_bucket_allows_burst_then_refills() -> None:
    bucket = TokenBucket(rate=2.0, now=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [True, True, False]
    assert bucket.take(0.49) is False
    assert bucket.take(0.5) is True
    slow = TokenBucket(rate=0.5, now=0.0)
    assert (slow.take(0.0), slow.take(1.0), slow.take(2.0)) == (True, False, True)


async def test_injector_error_rate_is_seeded(store: FaultStore) -> None:
    store.put("llm", FaultSpec(error_rate=0.5, error_status=502))

    async def outcomes(seed: int) -> list[int]:
        injector = FaultInjector(store, random.Random(seed))
        statuses = []
        for _ in range(40):
            try:
                await injector.apply("llm")
                statuses.append(200)
            except InjectedFault as exc:
                statuses.append(exc.status)
        return statuses

    first = await outcomes(7)
    assert first == await outcomes(7)
    assert set(first) == {200, 502}
    assert first != await outcomes(8)


def test_jitter_stays_within_bounds(store: FaultStore) -> None:
    injector = FaultInjector(store, random.Random(1))
    delays = [injector.delay_s(FaultSpec(latency_ms=100, jitter_ms=50)) for _ in range(200)]
    assert all(0.1 <= d <= 0.15 for d in delays)
    assert max(delays) - min(delays) > 0.04


@pytest.mark.parametrize(("status", "retry_after"), [(429, "7"), (503, "7"), (500, None)], ids=str)
async def test_retry_after_only_on_429_and_503(
    store: FaultStore, status: int, retry_after: str | None
) -> None:
    store.put("tool:get_logs", FaultSpec(error_rate=1, error_status=status, retry_after_s=7))
    with pytest.raises(InjectedFault) as caught:
        await FaultInjector(store, random.Random(0)).apply("tool:get_logs")
    assert caught.value.headers.get("Retry-After") == retry_after
    assert caught.value.result == "error"
