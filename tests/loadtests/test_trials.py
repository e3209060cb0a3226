"""Trial groups: a drawn case is asked K times in a row, numbered 1..K, then a new one."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from loadtests.profile import Attempt
from loadtests.trials import TrialPlan
from stampede.cases import reference_cases

A, B, C = reference_cases()[:3]


def _plan(cases: list, repeat: int) -> TrialPlan:
    draws = itertools.cycle(cases)
    return TrialPlan(lambda: next(draws), repeat, "p-w0-u1")


def test_each_case_is_asked_k_times_in_a_row() -> None:
    plan = _plan([A, B], 3)
    asks = [plan.next() for _ in range(7)]
    assert [case.id for case, _ in asks] == [A.id] * 3 + [B.id] * 3 + [A.id]
    assert [a.attempt for _, a in asks] == [1, 2, 3, 1, 2, 3, 1]
    assert asks[0][1] == Attempt(A.id, "p-w0-u1-1", 1, 3)
    assert {a.trial for _, a in asks} == {"p-w0-u1-1", "p-w0-u1-2", "p-w0-u1-3"}
    assert plan.groups == 3


def test_a_cases_own_repeat_wins_and_k1_draws_every_time() -> None:
    twice = replace(C, repeat=2)
    plan = _plan([A, twice], 1)
    asks = [plan.next() for _ in range(4)]
    assert [(c.id, a.attempt, a.repeat) for c, a in asks] == [
        (A.id, 1, 1),
        (C.id, 1, 2),
        (C.id, 2, 2),
        (A.id, 1, 1),
    ]


def test_repeat_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="repeat must be >= 1, got 0"):
        _plan([A], 0)
