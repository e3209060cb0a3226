"""Outcome schedules of the rated fake agent: iid draws, or an even (low-discrepancy) spread.

``IidSchedule``: each arrival draws ``u ~ U[0, 1)`` from a seeded RNG and takes the outcome
whose cumulative-rate interval holds ``u`` (binomial counts; the pass^k tests need that).

``EvenSchedule``: deterministic, by the schedule's own arrival counter. Arrival ``n + 1`` goes
to the outcome ``k`` with the largest lag ``d_k + r_k``, where ``d_k = n * r_k - c_k`` (its
configured share of the ``n`` arrivals so far minus what it got; ties: the first in order).
Bound, for every outcome and every N (``m`` outcomes, rates summing to 1)::

    N * r_k - (m - 1)**2 / m  <=  c_k(N)  <=  N * r_k + 1 - 1 / m

Proof: the lags always sum to 0, so the largest ``d_k + r_k`` is at least ``1 / m``; only the
chosen outcome's lag drops, by 1, to at least ``1 / m - 1``; the others rise. So no lag ever
goes below ``-(1 - 1/m)``, which is the upper bound, and, the lags summing to 0, none goes above
``(m - 1) * (1 - 1/m)``, the lower bound. With the five outcomes of the rated
agent (correct, wrong, partial, error, shed) every share is within 3.2 / N of its rate: 0.008
at N = 400. (A Weyl sequence ``frac(n * golden ratio)`` through the cumulative rates is the
other obvious choice, but its proved count bound grows with log N — Kuipers & Niederreiter,
Th. 3.4, gives ``3 + 3.52 ln N``, 24 at N = 400 — while this one is constant.)
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from typing import Protocol

#: rates within this of summing to 1 are taken as summing to 1 (float arithmetic)
SUM_SLACK = 1e-9


class Schedule(Protocol):
    """Which outcome the next arrival gets."""

    def next(self) -> str: ...


def _checked(rates: Mapping[str, float]) -> dict[str, float]:
    """``rates`` in order, or ValueError if one is outside [0, 1] or they do not sum to 1."""
    bad = {k: r for k, r in rates.items() if not 0 <= r <= 1}
    if bad or not rates:
        raise ValueError(f"rates must be in [0, 1] and not empty, got {dict(rates)}")
    total = sum(rates.values())
    if abs(total - 1) > SUM_SLACK:
        raise ValueError(f"rates must sum to 1, got {total:g} ({dict(rates)})")
    return dict(rates)


class IidSchedule:
    """Independent draws from a seeded RNG: outcome k with probability ``rates[k]``."""

    def __init__(self, rates: Mapping[str, float], rng: random.Random) -> None:
        self.rates = _checked(rates)
        self.rng = rng

    def next(self) -> str:
        """The outcome whose cumulative interval holds the next uniform draw."""
        u, edge = self.rng.random(), 0.0
        for kind, rate in self.rates.items():
            edge += rate
            if u < edge:
                return kind
        return next(k for k, r in reversed(self.rates.items()) if r > 0)  # u in the float slack


class EvenSchedule:
    """Largest-lag assignment: every count within the module's bound of ``N * rate``."""

    def __init__(self, rates: Mapping[str, float]) -> None:
        self.rates = _checked(rates)
        self.arrivals = 0
        self.counts: Counter[str] = Counter()

    def next(self) -> str:
        """The outcome furthest behind its configured share after this arrival."""
        n = self.arrivals + 1
        kind = max(self.rates, key=lambda k: n * self.rates[k] - self.counts[k])
        self.arrivals = n
        self.counts[kind] += 1
        return kind


def count_bounds(rate: float, n: int, outcomes: int) -> tuple[float, float]:
    """The closed interval the module docstring proves ``EvenSchedule``'s count lies in."""
    return n * rate - (outcomes - 1) ** 2 / outcomes, n * rate + 1 - 1 / outcomes
