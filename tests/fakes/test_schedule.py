"""The rated fake's outcome schedules, without a server: the even bound, the iid draws."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from tests.fakes.rated_agent import load_world
from tests.fakes.schedule import EvenSchedule, IidSchedule, count_bounds

HERE = Path(__file__).resolve().parent
#: the rates of the rates tests, with correct the rest
RATES = {"shed": 0.08, "error": 0.05, "wrong": 0.10, "partial": 0.15, "correct": 0.62}
EPS = 1e-9  # float slack on N * rate


def _random_rates(rng: random.Random, m: int) -> dict[str, float]:
    cuts = sorted(rng.random() for _ in range(m - 1))
    edges = [0.0, *cuts, 1.0]
    return {f"k{i}": edges[i + 1] - edges[i] for i in range(m)}


@pytest.mark.parametrize(
    "rates",
    [RATES, {"correct": 0.5, "wrong": 0.5}, {"correct": 0.95, "wrong": 0.05}]
    + [_random_rates(random.Random(seed), m) for seed, m in ((1, 3), (2, 5), (3, 8))],
    ids=["rated", "half", "p95", "random3", "random5", "random8"],
)
def test_even_counts_stay_within_the_proved_bound_at_every_n(rates: dict[str, float]) -> None:
    """At each N in 1..2000 every count lies in the docstring's interval; for N in 400..2000
    with the rated agent's five outcomes that is every share within 3.2 / N <= 0.008."""
    schedule = EvenSchedule(rates)
    counts: Counter[str] = Counter()
    worst = 0.0
    for n in range(1, 2001):
        counts[schedule.next()] += 1
        for kind, rate in rates.items():
            low, high = count_bounds(rate, n, len(rates))
            assert low - EPS <= counts[kind] <= high + EPS, (n, kind, counts[kind], n * rate)
            if n >= 400:
                worst = max(worst, abs(counts[kind] / n - rate))
    assert sum(counts.values()) == 2000 and counts == schedule.counts
    assert worst <= (len(rates) - 1) ** 2 / len(rates) / 400 + EPS, worst


def test_even_shares_for_the_rated_agent_are_within_a_few_over_n() -> None:
    """The rates test's outcomes: every count within 3.2 of N * rate (0.008 at N = 400)."""
    schedule = EvenSchedule(RATES)
    counts: Counter[str] = Counter()
    for n in range(1, 2001):
        counts[schedule.next()] += 1
        if n >= 400:
            for kind, rate in RATES.items():
                assert abs(counts[kind] - n * rate) <= 3.2 + EPS, (n, kind, counts[kind])
                assert abs(counts[kind] / n - rate) <= 0.008 + EPS


def test_a_zero_rate_is_never_given_and_bad_rates_are_refused() -> None:
    schedule = EvenSchedule({"correct": 0.7, "shed": 0.0, "wrong": 0.3})
    assert "shed" not in {schedule.next() for _ in range(500)}
    with pytest.raises(ValueError, match=r"sum to 1, got 0\.9"):
        EvenSchedule({"correct": 0.6, "wrong": 0.3})
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        IidSchedule({"correct": 1.5, "wrong": -0.5}, random.Random(0))


def test_iid_draws_are_the_seeded_uniforms_through_the_cumulative_rates() -> None:
    """Same seed, same sequence; each draw is the interval holding ``random()``."""
    rates = {"shed": 0.2, "correct": 0.8}
    schedule, reference = IidSchedule(rates, random.Random(4)), random.Random(4)
    got = [schedule.next() for _ in range(300)]
    assert got == ["shed" if reference.random() < 0.2 else "correct" for _ in range(300)]
    assert 0 < got.count("shed") < 300


def _world_config(tmp_path: Path, **config: object) -> Path:
    path = tmp_path / "rated.json"
    path.write_text(json.dumps({"cases": str(HERE / "rated_cases.yaml"), **config}))
    return path


def test_an_even_world_spreads_rates_and_case_success_per_case(tmp_path: Path) -> None:
    """``schedule: even`` in the fake's config: the rates over all the other cases' arrivals,
    and a ``case_success`` case's p over its own arrivals (within 0.5 each)."""
    rates = {k: v for k, v in RATES.items() if k != "correct"}
    world = load_world(
        _world_config(tmp_path, schedule="even", rates=rates, case_success={"oncall": 0.6})
    )
    cases = {c.id: c for c in world.answers.values()}
    order = random.Random(9)
    for _ in range(1000):
        world.draw(cases[order.choice(sorted(cases))])
    oncall = world.by_case["oncall"]
    n_oncall = sum(oncall.values())
    assert set(oncall) == {"correct", "wrong"}
    assert abs(oncall["correct"] - 0.6 * n_oncall) <= 0.5 + EPS, (oncall, n_oncall)
    others = Counter[str]()
    for case_id, counts in world.by_case.items():
        if case_id != "oncall":
            others.update(counts)
    n = sum(others.values())
    for kind, rate in RATES.items():
        assert abs(others[kind] - n * rate) <= 3.2 + EPS, (kind, others, n)
    assert sum(world.drawn.values()) == 1000


def test_the_default_schedule_is_iid_and_a_bad_one_is_refused(tmp_path: Path) -> None:
    world = load_world(_world_config(tmp_path, seed=3, rates={"wrong": 0.5}))
    assert isinstance(world.rates, IidSchedule)
    with pytest.raises(ValueError, match="schedule"):
        load_world(_world_config(tmp_path, schedule="sometimes"))
