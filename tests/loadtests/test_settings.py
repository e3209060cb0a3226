"""The --stampede-* options become validated settings; -u/-r/-t are shape defaults."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from loadtests.settings import LoadSettings, add_arguments


def options(*argv: str, **extra: Any) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    original = parser.add_argument

    def add_argument(*args: Any, env_var: str = "", **kwargs: Any) -> Any:
        assert env_var.startswith("STAMPEDE_"), args
        return original(*args, **kwargs)

    parser.add_argument = add_argument  # type: ignore[method-assign]
    add_arguments(parser)
    namespace = parser.parse_args(list(argv))
    for key, value in {"num_users": None, "spawn_rate": None, "run_time": None, **extra}.items():
        setattr(namespace, key, value)
    return namespace


def test_defaults_are_plain_locust() -> None:
    settings = LoadSettings.from_options(options())
    assert (settings.shape, settings.profile, settings.requests_csv) == ("none", "reference", "")
    assert settings.shape_params.users == 10
    assert settings.timeout_s == 30


def test_locust_common_options_are_shape_defaults() -> None:
    settings = LoadSettings.from_options(
        options("--stampede-shape", "ramp", num_users=40, spawn_rate=5, run_time=90)
    )
    p = settings.shape_params
    assert (p.users, p.spawn_rate, p.duration_s) == (40, 5.0, 90.0)


def test_stampede_options_win_over_common_ones() -> None:
    settings = LoadSettings.from_options(
        options(
            "--stampede-shape",
            "spike",
            "--stampede-users",
            "3",
            "--stampede-duration",
            "2m",
            "--stampede-spike-at",
            "30s",
            "--stampede-spike-length",
            "10",
            "--stampede-spike-users",
            "9",
            num_users=40,
            run_time=10,
        )
    )
    p = settings.shape_params
    assert (p.users, p.spawn_rate, p.duration_s) == (3, 3.0, 120.0)
    assert (p.spike_height, p.spike_start, p.spike_length) == (9, 30.0, 10.0)


def test_open_model_splits_rate_and_bound_over_lanes() -> None:
    settings = LoadSettings.from_options(
        options(
            "--stampede-shape",
            "open",
            "--stampede-arrival-rate",
            "30",
            "--stampede-timeout",
            "2",
            expect_workers=3,
        )
    )
    assert settings.lanes == 3
    assert settings.shape_params.users == 3
    assert settings.lane_rate == 10
    assert settings.lane_bound == 20  # 30/s x 2 s / 3 lanes
    explicit = LoadSettings.from_options(
        options(
            "--stampede-shape",
            "open",
            "--stampede-arrival-rate",
            "30",
            "--stampede-max-in-flight",
            "7",
            "--stampede-open-lanes",
            "2",
        )
    )
    assert (explicit.lanes, explicit.lane_rate, explicit.lane_bound) == (2, 15, 4)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--stampede-shape", "open"], "needs --stampede-arrival-rate > 0"),
        (["--stampede-arrival-rate", "5"], "needs --stampede-shape open"),
        (["--stampede-duration", "soon"], "duration 'soon'"),
        (["--stampede-timeout", "0"], "--stampede-timeout must be > 0"),
        (["--stampede-repeat", "0"], r"--stampede-repeat must be 1\.\.1000, got 0"),
    ],
    ids=["open-without-rate", "rate-without-open", "bad-duration", "zero-timeout", "repeat-0"],
)
def test_bad_options_name_the_option(argv: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LoadSettings.from_options(options(*argv))


def test_env_vars_are_declared_for_every_option() -> None:
    options()  # the assertion is inside add_argument


def test_missing_options_fall_back_to_defaults() -> None:
    assert LoadSettings.from_options(None) == LoadSettings()


def test_repeat_defaults_to_one_and_is_read() -> None:
    assert LoadSettings.from_options(options()).repeat == 1
    assert LoadSettings.from_options(options("--stampede-repeat", "4")).repeat == 4
