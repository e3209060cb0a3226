"""The pre-call injector on a fake clock: delay distributions, Retry-After forms, token budget."""

from __future__ import annotations

import contextlib
import random
import statistics
from email.utils import parsedate_to_datetime

import anyio
import pytest

from faults.inject import FaultInjector, InjectedFault, InjectedReset
from faults.model import FaultSpec
from faults.store import FaultStore

pytestmark = pytest.mark.anyio


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> FaultStore:
    return FaultStore(("llm", "tool:a"), max_ttl_s=600, clock=clock, wall=lambda: 1_700_000_000.0)


def delays(spec: FaultSpec, n: int = 2_000) -> list[float]:
    injector = FaultInjector(FaultStore(("llm",), 60), random.Random(3))
    return sorted(injector.delay_s(spec) for _ in range(n))


def test_fixed_latency_has_no_spread() -> None:
    assert set(delays(FaultSpec(latency_ms=40, latency_dist="fixed"), 50)) == {0.04}


def test_lognormal_jitter_is_heavy_tailed() -> None:
    uniform = delays(FaultSpec(latency_ms=10, jitter_ms=20))
    lognormal = delays(FaultSpec(latency_ms=10, jitter_ms=20, latency_dist="lognormal"))
    assert min(lognormal) >= 0.01
    median = statistics.median(lognormal)
    assert 0.025 < median < 0.035, "median = latency + jitter_ms (the lognormal's median)"
    p99 = lognormal[int(len(lognormal) * 0.99)]
    assert p99 - 0.01 > 6 * (median - 0.01), "p99 of the extra delay ~ 10x its median (sigma 1)"
    assert max(uniform) <= 0.03 < max(lognormal)


def test_delay_is_capped_at_two_minutes() -> None:
    spec = FaultSpec(
        latency_ms=100_000, jitter_ms=100_000, latency_dist="lognormal", jitter_sigma=3
    )
    assert max(delays(spec, 200)) == 120.0


@pytest.mark.parametrize("status", [429, 503], ids=str)
async def test_retry_after_as_an_http_date(store: FaultStore, status: int) -> None:
    spec = FaultSpec(error_rate=1, error_status=status, retry_after_s=30)
    store.put("llm", spec.model_copy(update={"retry_after_format": "http-date"}))
    with pytest.raises(InjectedFault) as caught:
        await FaultInjector(store, random.Random(0)).apply("llm")
    when = parsedate_to_datetime(caught.value.headers["Retry-After"])
    assert when.timestamp() == 1_700_000_030
    assert caught.value.headers["Retry-After"].endswith(" GMT")


async def test_token_budget_counts_usage_of_answered_calls(
    store: FaultStore, clock: FakeClock
) -> None:
    """600 tokens/min: a call reporting 900 tokens overdraws the budget; the next call is
    refused until 30 s of refill bring the balance back above zero."""
    fault = store.put("llm", FaultSpec(rate_limit_tpm=600, retry_after_s=2))
    injector = FaultInjector(store, random.Random(0))
    assert await injector.apply("llm") is fault
    injector.charge(fault, 900)
    with pytest.raises(InjectedFault) as caught:
        await injector.apply("llm")
    assert caught.value.status == 429 and caught.value.result == "rate_limited"
    assert caught.value.message == "token rate limit of 600 tokens/min exceeded on llm"
    assert caught.value.headers == {"Retry-After": "2"}
    clock.now += 29.9
    with pytest.raises(InjectedFault):
        await injector.apply("llm")
    clock.now += 0.2
    assert await injector.apply("llm") is fault


async def test_reset_comes_after_the_delay(store: FaultStore) -> None:
    store.put("tool:a", FaultSpec(reset=True))
    with pytest.raises(InjectedReset, match="injected connection reset on tool:a"):
        await FaultInjector(store, random.Random(0)).apply("tool:a")
    assert await FaultInjector(store, random.Random(0)).apply("llm") is None


@pytest.mark.parametrize(
    ("spec", "kinds"),
    [
        ({"latency_ms": 1, "error_rate": 1}, ["latency", "error"]),
        ({"latency_ms": 1, "reset": True}, ["latency", "reset"]),
        ({"rate_limit_rps": 0.001}, []),  # the first call takes the bucket's one token
        ({"error_rate": 0}, []),
    ],
    ids=["latency+error", "latency+reset", "within-rate", "nothing"],
)
async def test_each_injected_kind_is_reported(
    store: FaultStore, spec: dict[str, object], kinds: list[str]
) -> None:
    store.put("tool:a", FaultSpec.model_validate(spec))
    reported: list[str] = []
    with contextlib.suppress(InjectedFault, InjectedReset):
        await FaultInjector(store, random.Random(0)).apply("tool:a", injected=reported.append)
    assert reported == kinds


async def test_rate_limited_is_reported() -> None:
    store = FaultStore(("tool:a",), 600)
    store.put("tool:a", FaultSpec(rate_limit_rps=0.001))
    injector, reported = FaultInjector(store, random.Random(0)), list[str]()
    await injector.apply("tool:a", injected=reported.append)
    with pytest.raises(InjectedFault):
        await injector.apply("tool:a", injected=reported.append)
    assert reported == ["rate_limited"]


@pytest.mark.parametrize(
    ("spec", "kind"), [({"latency_ms": 60_000}, "latency"), ({"hang": True}, "hang")], ids=str
)
async def test_a_wait_is_reported_when_it_starts(spec: dict[str, object], kind: str) -> None:
    """A call cancelled during the injected wait (its client left) was still injected."""
    store = FaultStore(("tool:a",), 600)
    store.put("tool:a", FaultSpec.model_validate(spec))
    reported: list[str] = []
    injector = FaultInjector(store, random.Random(0))
    with anyio.move_on_after(0.05) as waited:
        await injector.apply("tool:a", injected=reported.append)
    assert waited.cancelled_caught
    assert reported == [kind]
