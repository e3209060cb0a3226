"""Load shapes as pure functions of time, so tests need not sleep.

``users_at(shape, t, params) -> (users, spawn_rate) | None`` (None = the test is over):

* ``steady`` — ``users`` for ``duration_s``.
* ``ramp``   — ``ramp_steps`` equal steps up to ``users`` (step k of n holds ceil(users*k/n)).
* ``spike``  — ``users``, then ``spike_users`` from ``spike_at_s`` for ``spike_length_s`` (spawned
  and stopped as fast as ``spike_users`` per second), then ``users`` again.
* ``open``   — the open model: ``users`` are arrival *lanes*, constant; the arrival rate, not
  the user count, sets the load (see :func:`next_gap`).

No Locust import: ``loadtests/shapes.py`` wraps this in a ``LoadTestShape``.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass

SHAPES: tuple[str, ...] = ("none", "steady", "ramp", "spike", "open")
ARRIVAL_PROCESSES: tuple[str, ...] = ("poisson", "uniform")

_TIMESPAN = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?$")


def parse_duration(text: str | float | int) -> float:
    """Seconds from ``90``, ``"90"``, ``"90s"``, ``"1m30s"``, ``"1h"``; ValueError otherwise."""
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        match = _TIMESPAN.match(text.strip().lower())
        if not text.strip() or match is None:
            raise ValueError(f"duration {text!r}: expected seconds or e.g. 30s, 2m, 1m30s, 1h")
        hours, minutes, secs = (float(g) if g else 0.0 for g in match.groups())
        seconds = hours * 3600 + minutes * 60 + secs
    if seconds < 0 or math.isnan(seconds):
        raise ValueError(f"duration {text!r} is negative")
    return seconds


@dataclass(frozen=True)
class ShapeParams:
    """Parameters of every shape; ``spike_*`` set to None default to fractions of the duration."""

    users: int = 10
    spawn_rate: float = 10.0
    duration_s: float = 60.0
    ramp_steps: int = 4
    spike_users: int | None = None  # default 3 x users
    spike_at_s: float | None = None  # default duration / 3
    spike_length_s: float | None = None  # default duration / 6

    def __post_init__(self) -> None:
        if self.users < 1:
            raise ValueError(f"users must be >= 1, got {self.users}")
        if self.spawn_rate <= 0:
            raise ValueError(f"spawn rate must be > 0, got {self.spawn_rate}")
        if self.duration_s <= 0:
            raise ValueError(f"duration must be > 0 s, got {self.duration_s}")
        if self.ramp_steps < 1:
            raise ValueError(f"ramp steps must be >= 1, got {self.ramp_steps}")
        if self.spike_users is not None and self.spike_users < 1:
            raise ValueError(f"spike users must be >= 1, got {self.spike_users}")
        if self.spike_at_s is not None and self.spike_at_s < 0:
            raise ValueError(f"spike start must be >= 0 s, got {self.spike_at_s}")
        if self.spike_length_s is not None and self.spike_length_s <= 0:
            raise ValueError(f"spike length must be > 0 s, got {self.spike_length_s}")

    @property
    def spike_height(self) -> int:
        return self.spike_users if self.spike_users is not None else 3 * self.users

    @property
    def spike_start(self) -> float:
        return self.spike_at_s if self.spike_at_s is not None else self.duration_s / 3

    @property
    def spike_length(self) -> float:
        return self.spike_length_s if self.spike_length_s is not None else self.duration_s / 6


def users_at(shape: str, t: float, p: ShapeParams) -> tuple[int, float] | None:
    """``(users, spawn_rate)`` at ``t`` seconds into the test, or None once it is over."""
    if shape not in SHAPES or shape == "none":
        raise ValueError(f"shape {shape!r}: expected one of {', '.join(SHAPES[1:])}")
    if t >= p.duration_s:
        return None
    if shape in ("steady", "open"):
        return p.users, p.spawn_rate
    if shape == "ramp":
        step_length = p.duration_s / p.ramp_steps
        step = min(int(t // step_length), p.ramp_steps - 1) + 1
        return math.ceil(p.users * step / p.ramp_steps), p.spawn_rate
    # spike
    burst_rate = float(max(p.spawn_rate, p.spike_height))
    start = p.spike_start
    if t < start:
        return p.users, p.spawn_rate
    if t < start + p.spike_length:
        return p.spike_height, burst_rate
    return p.users, burst_rate


def next_gap(rate: float, rng: random.Random, process: str = "poisson") -> float:
    """Seconds to the next arrival at ``rate``/s: exponential (Poisson) or constant (uniform)."""
    if rate <= 0:
        raise ValueError(f"arrival rate must be > 0, got {rate}")
    if process == "poisson":
        return rng.expovariate(rate)
    if process == "uniform":
        return 1.0 / rate
    raise ValueError(f"arrival process {process!r}: expected one of {', '.join(ARRIVAL_PROCESSES)}")


def default_in_flight_bound(rate: float, timeout_s: float) -> int:
    """Little's law at the timeout: more in flight than this means requests would time out."""
    return max(1, math.ceil(rate * timeout_s))
