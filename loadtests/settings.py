"""Stampede's Locust options (``--stampede-*``, each with an env var) and their typed form.

:func:`add_arguments` takes Locust's parser (it is registered by ``loadtests.agent_user`` on
``events.init_command_line_parser``); :meth:`LoadSettings.from_options` reads Locust's parsed
options into a frozen, validated :class:`LoadSettings`. No Locust import here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from loadtests.shape_math import (
    ARRIVAL_PROCESSES,
    SHAPES,
    ShapeParams,
    default_in_flight_bound,
    parse_duration,
)

DEFAULT_USERS = 10
DEFAULT_DURATION_S = 60.0
DEFAULT_TIMEOUT_S = 30.0
MAX_REPEAT = 1000  # the case file's bound on a case's own repeat


def add_arguments(parser: Any) -> None:
    """Add the ``--stampede-*`` options to Locust's (configargparse) parser."""
    arg = parser.add_argument
    arg(
        "--stampede-shape",
        env_var="STAMPEDE_SHAPE",
        choices=SHAPES,
        default="none",
        help="Load shape: none (plain -u/-r/-t), steady, ramp, spike, open (arrival rate)",
    )
    arg(
        "--stampede-arrival-rate",
        env_var="STAMPEDE_ARRIVAL_RATE",
        type=float,
        default=0.0,
        help="Open model: requests per second in total, independent of response time",
    )
    arg(
        "--stampede-arrivals",
        env_var="STAMPEDE_ARRIVALS",
        choices=ARRIVAL_PROCESSES,
        default="poisson",
        help="Open model: arrival process",
    )
    arg(
        "--stampede-max-in-flight",
        env_var="STAMPEDE_MAX_IN_FLIGHT",
        type=int,
        default=0,
        help="Open model: in-flight bound in total (0 = rate x timeout); excess arrivals are "
        "dropped and recorded as errors",
    )
    arg(
        "--stampede-open-connections",
        env_var="STAMPEDE_OPEN_CONNECTIONS",
        type=int,
        default=0,
        help="Open model: connections in total (0 = the in-flight bound); an arrival waits "
        "for a free connection, and the wait counts in user_latency_ms, not latency_ms",
    )
    arg(
        "--stampede-open-lanes",
        env_var="STAMPEDE_OPEN_LANES",
        type=int,
        default=0,
        help="Open model: arrival lanes (users) in total (0 = one per expected worker)",
    )
    arg(
        "--stampede-profile",
        env_var="STAMPEDE_PROFILE",
        default="reference",
        help="Target profile: a name (reference), module:attr, or PATH.yaml (a declarative "
        "profile, docs/byo-agent.md)",
    )
    arg(
        "--stampede-cases",
        env_var="STAMPEDE_CASES",
        default="",
        help="Case file (.jsonl, .yaml): the questions and expected answers "
        "(default: the reference agent's catalogue)",
    )
    arg(
        "--stampede-repeat",
        env_var="STAMPEDE_REPEAT",
        type=int,
        default=1,
        help="pass^k: ask each drawn case K times in a row (a case's own repeat wins)",
    )
    arg(
        "--stampede-requests-csv",
        env_var="STAMPEDE_REQUESTS_CSV",
        default="",
        help="Write one row per request here (workers: requests.worker-<index>.csv beside it)",
    )
    arg(
        "--stampede-experiment",
        env_var="STAMPEDE_EXPERIMENT",
        default="",
        help="Value of the experiment column in the requests CSV",
    )
    arg(
        "--stampede-seed",
        env_var="STAMPEDE_SEED",
        type=int,
        default=0,
        help="Seed of incident choice, look-up choice and arrivals",
    )
    arg(
        "--stampede-duration",
        env_var="STAMPEDE_DURATION",
        default="",
        help="Shape duration, e.g. 60s or 2m (default: -t, else 60s)",
    )
    arg(
        "--stampede-users",
        env_var="STAMPEDE_USERS",
        type=int,
        default=0,
        help="Shape users (steady level, ramp top, spike base; default: -u, else 10)",
    )
    arg(
        "--stampede-ramp-steps",
        env_var="STAMPEDE_RAMP_STEPS",
        type=int,
        default=4,
        help="Ramp shape: number of equal steps",
    )
    arg(
        "--stampede-spike-users",
        env_var="STAMPEDE_SPIKE_USERS",
        type=int,
        default=0,
        help="Spike shape: users during the spike (default 3 x users)",
    )
    arg(
        "--stampede-spike-at",
        env_var="STAMPEDE_SPIKE_AT",
        default="",
        help="Spike shape: start, e.g. 20s (default duration/3)",
    )
    arg(
        "--stampede-spike-length",
        env_var="STAMPEDE_SPIKE_LENGTH",
        default="",
        help="Spike shape: length, e.g. 10s (default duration/6)",
    )
    arg(
        "--stampede-timeout",
        env_var="STAMPEDE_TIMEOUT",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help="Client timeout per request in seconds (connect and read)",
    )


def _opt(options: Any, name: str, default: Any) -> Any:
    value = getattr(options, name, None)
    return default if value is None else value


@dataclass(frozen=True)
class LoadSettings:
    """The validated ``--stampede-*`` options (plus -u/-r/-t as shape defaults)."""

    shape: str = "none"
    arrival_rate: float = 0.0
    arrivals: str = "poisson"
    max_in_flight: int = 0
    connections: int = 0
    lanes: int = 1
    profile: str = "reference"
    cases: str = ""
    repeat: int = 1
    requests_csv: str = ""
    experiment: str = ""
    seed: int = 0
    timeout_s: float = DEFAULT_TIMEOUT_S
    shape_params: ShapeParams = field(default_factory=ShapeParams)

    def __post_init__(self) -> None:
        if self.shape not in SHAPES:
            raise ValueError(f"--stampede-shape {self.shape!r}: expected one of {SHAPES}")
        if self.shape == "open" and not self.arrival_rate > 0:
            raise ValueError("--stampede-shape open needs --stampede-arrival-rate > 0")
        if self.shape != "open" and self.arrival_rate:
            raise ValueError(
                f"--stampede-arrival-rate {self.arrival_rate} needs --stampede-shape open "
                f"(got {self.shape})"
            )
        if self.timeout_s <= 0:
            raise ValueError(f"--stampede-timeout must be > 0, got {self.timeout_s}")
        if not 1 <= self.repeat <= MAX_REPEAT:
            raise ValueError(f"--stampede-repeat must be 1..{MAX_REPEAT}, got {self.repeat}")
        if self.max_in_flight < 0 or self.lanes < 1:
            raise ValueError("--stampede-max-in-flight must be >= 0 and lanes >= 1")
        if self.connections < 0:
            raise ValueError(f"--stampede-open-connections must be >= 0, got {self.connections}")

    @property
    def lane_rate(self) -> float:
        """Arrivals per second of one lane (one open-model user)."""
        return self.arrival_rate / self.lanes

    @property
    def lane_bound(self) -> int:
        """In-flight bound of one lane."""
        total = self.max_in_flight or default_in_flight_bound(self.arrival_rate, self.timeout_s)
        return max(1, math.ceil(total / self.lanes))

    @property
    def lane_connections(self) -> int:
        """Connections of one lane: at most its in-flight bound (the default)."""
        if not self.connections:
            return self.lane_bound
        return min(self.lane_bound, max(1, math.ceil(self.connections / self.lanes)))

    @classmethod
    def from_options(cls, options: Any) -> LoadSettings:
        """Read Locust's parsed options; ValueError names the bad option."""
        shape = _opt(options, "stampede_shape", "none")
        duration_text = _opt(options, "stampede_duration", "")
        run_time = _opt(options, "run_time", 0)
        if duration_text:
            duration = parse_duration(duration_text)
        else:
            duration = float(run_time) if run_time else DEFAULT_DURATION_S
        # expect_workers reaches the workers too (Locust forwards it), so every process agrees
        lanes = int(_opt(options, "stampede_open_lanes", 0)) or max(
            1, int(_opt(options, "expect_workers", 1))
        )
        if shape == "open":
            users = lanes
            spawn_rate = float(lanes)
        else:
            users = int(_opt(options, "stampede_users", 0)) or int(
                _opt(options, "num_users", 0) or DEFAULT_USERS
            )
            spawn_rate = float(_opt(options, "spawn_rate", 0) or users)
        spike_at = _opt(options, "stampede_spike_at", "")
        spike_length = _opt(options, "stampede_spike_length", "")
        params = ShapeParams(
            users=users,
            spawn_rate=spawn_rate,
            duration_s=duration,
            ramp_steps=int(_opt(options, "stampede_ramp_steps", 4)),
            spike_users=int(_opt(options, "stampede_spike_users", 0)) or None,
            spike_at_s=parse_duration(spike_at) if spike_at else None,
            spike_length_s=parse_duration(spike_length) if spike_length else None,
        )
        return cls(
            shape=shape,
            arrival_rate=float(_opt(options, "stampede_arrival_rate", 0.0)),
            arrivals=_opt(options, "stampede_arrivals", "poisson"),
            max_in_flight=int(_opt(options, "stampede_max_in_flight", 0)),
            connections=int(_opt(options, "stampede_open_connections", 0)),
            lanes=lanes,
            profile=_opt(options, "stampede_profile", "reference"),
            cases=_opt(options, "stampede_cases", ""),
            repeat=int(_opt(options, "stampede_repeat", 1)),
            requests_csv=_opt(options, "stampede_requests_csv", ""),
            experiment=_opt(options, "stampede_experiment", ""),
            seed=int(_opt(options, "stampede_seed", 0)),
            timeout_s=float(_opt(options, "stampede_timeout", DEFAULT_TIMEOUT_S)),
            shape_params=params,
        )
