"""Shapes as pure functions of time: users and spawn rate at given seconds, no sleeping."""

from __future__ import annotations

import random
import statistics

import pytest

from loadtests.shape_math import (
    ShapeParams,
    default_in_flight_bound,
    next_gap,
    parse_duration,
    users_at,
)

P = ShapeParams(users=8, spawn_rate=4, duration_s=60, ramp_steps=4)


@pytest.mark.parametrize(
    ("t", "expected"),
    [(0, (8, 4.0)), (30, (8, 4.0)), (59.9, (8, 4.0)), (60, None), (1000, None)],
    ids=["start", "middle", "just-before-end", "end", "long-after"],
)
def test_steady_holds_users_for_the_duration(t: float, expected: object) -> None:
    assert users_at("steady", t, P) == expected


@pytest.mark.parametrize(
    ("t", "users"),
    [(0, 2), (14.9, 2), (15, 4), (29.9, 4), (30, 6), (45, 8), (59.9, 8)],
    ids=["step1-start", "step1-end", "step2", "step2-end", "step3", "step4", "last"],
)
def test_ramp_climbs_in_equal_steps(t: float, users: int) -> None:
    assert users_at("ramp", t, P) == (users, 4.0)
    assert users_at("ramp", 60, P) is None


def test_ramp_rounds_steps_up_and_reaches_the_top() -> None:
    p = ShapeParams(users=5, duration_s=30, ramp_steps=3)
    assert [users_at("ramp", t, p)[0] for t in (0, 10, 20)] == [2, 4, 5]  # type: ignore[index]


@pytest.mark.parametrize(
    ("t", "expected"),
    [(0, (8, 4.0)), (19.9, (8, 4.0)), (20, (24, 24.0)), (29.9, (24, 24.0)), (30, (8, 24.0))],
    ids=["before", "just-before", "spike-start", "spike-end", "after"],
)
def test_spike_defaults_three_times_users_at_a_third_for_a_sixth(
    t: float, expected: object
) -> None:
    assert users_at("spike", t, P) == expected


def test_spike_is_parametrised() -> None:
    p = ShapeParams(users=2, spawn_rate=1, duration_s=20, spike_users=10, spike_at_s=5,
                    spike_length_s=2)  # fmt: skip
    assert users_at("spike", 4.9, p) == (2, 1.0)
    assert users_at("spike", 5, p) == (10, 10.0)
    assert users_at("spike", 7, p) == (2, 10.0)
    assert users_at("spike", 20, p) is None


def test_open_keeps_its_lanes() -> None:
    p = ShapeParams(users=2, spawn_rate=2, duration_s=5)
    assert users_at("open", 0, p) == (2, 2.0)
    assert users_at("open", 5, p) is None


@pytest.mark.parametrize("shape", ["none", "wave"])
def test_none_and_unknown_shapes_have_no_users(shape: str) -> None:
    with pytest.raises(ValueError, match="expected one of steady, ramp, spike, open"):
        users_at(shape, 0, P)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"users": 0}, "users must be >= 1"),
        ({"spawn_rate": 0}, "spawn rate must be > 0"),
        ({"duration_s": 0}, "duration must be > 0"),
        ({"ramp_steps": 0}, "ramp steps must be >= 1"),
        ({"spike_length_s": 0}, "spike length must be > 0"),
    ],
    ids=["users", "spawn-rate", "duration", "ramp-steps", "spike-length"],
)
def test_bad_parameters_are_rejected(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ShapeParams(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("2m", 120), ("1m30s", 90), ("1h", 3600), ("0.5s", 0.5), (7, 7)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "ten", "5x", "-3"])
def test_parse_duration_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_poisson_gaps_average_one_over_rate_and_are_seeded() -> None:
    gaps = [next_gap(20, random.Random(1)) for _ in range(1)]
    rng = random.Random(7)
    many = [next_gap(20, rng) for _ in range(5000)]
    assert statistics.mean(many) == pytest.approx(0.05, rel=0.05)
    assert gaps == [next_gap(20, random.Random(1))]
    assert next_gap(4, rng, "uniform") == 0.25
    with pytest.raises(ValueError, match="arrival rate"):
        next_gap(0, rng)


def test_in_flight_bound_is_rate_times_timeout() -> None:
    assert default_in_flight_bound(10, 30) == 300
    assert default_in_flight_bound(0.01, 1) == 1
