"""SLIs of durable (asynchronous) investigations, from the run rows of ``requests.csv`` (pure).

The asynchronous Locust user (loadtests/async_user.py) writes one row per accepted run, named
``investigation [async]`` or ``investigation [async, <flags>]``: its latency is submit -> final
answer, its outcome the judge's verdict, its flags what happened to it (``resumed``,
``retried``, ``duplicate``, ``failed``, ``lost``). The submit and poll requests have rows of
their own (``[submit]``, ``[poll]``) and are not runs.

* ``accepted_runs`` - runs accepted (202) in the scope;
* ``lost_runs`` - accepted, no answer by the user's deadline;
* ``failed_runs`` - dead-lettered by the agent (``failed``, with its reason);
* ``interrupted_runs`` - runs whose worker died under them: more than one attempt, or lost
  (an experiment that kills workers and interrupts nothing has tested nothing);
* ``resumed_runs`` - taken over after their worker died and resumed after a completed node;
* ``duplicate_completions`` - runs the agent reports completed more than once;
* ``time_to_answer_p95_ms`` - p95 of submit -> answer over answered runs (nearest rank);
* ``cost_per_completed_run_usd`` - billed cost of the answered runs / their number;
* ``interrupted_run_cost_amplification`` - what the answered interrupted runs cost / what the
  same cases cost when not interrupted (the median cost of the scope's uninterrupted answered
  runs of each ``case_id``): 1.0 when a reclaimed run bills its completed nodes once, more when
  it pays them again (``no_checkpoint``). Judged on the interrupted runs alone, a handful of
  them is enough; a whole-phase ratio dilutes them in hundreds of uninterrupted runs;
* ``rebilled_runs`` - answered interrupted runs that cost more than ``params.rebilled_factor``
  (1.05 by default) x their case uninterrupted: each paid again for calls it had completed.
  One such run is a fault; the amplification above averages them with the runs killed before
  any node finished (which cost the same with or without checkpoints);
* ``run_cost_amplification`` - that cost in a phase / in the same experiment's baseline phase
  (the fault phase's value also on ``all``): what a kill costs (``no_checkpoint`` pays the
  completed calls of every interrupted run again).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import numpy as np
import pandas as pd

from reports.catalogue import SliParams
from stampede.contract import SUCCESS_OUTCOMES

RUN_PREFIX: Final = "investigation [async"
RUN_SLIS: Final = (
    "accepted_runs",
    "lost_runs",
    "failed_runs",
    "interrupted_runs",
    "resumed_runs",
    "duplicate_completions",
    "time_to_answer_p95_ms",
    "cost_per_completed_run_usd",
    "interrupted_run_cost_amplification",
    "rebilled_runs",
)
#: Experiment phases' SLI: cost per completed run in the phase / in the baseline phase.
AMPLIFICATION: Final = "run_cost_amplification"
NO_RUNS: Final = "no asynchronous runs in scope (loadtests/async_user.py writes them)"


SUBMIT_SUFFIX: Final = " [submit]"
POLL_SUFFIX: Final = " [poll]"


def _names_matching(rows: pd.DataFrame, test: Callable[[str], bool]) -> np.ndarray:
    """A boolean mask of the rows whose ``name`` passes ``test`` (on the categories if any)."""
    names = rows["name"]
    if isinstance(names.dtype, pd.CategoricalDtype):
        hits = [i for i, c in enumerate(names.cat.categories) if test(str(c))]
        return np.isin(names.cat.codes.to_numpy(), hits)
    values = names.astype(str)  # the test runs on the few distinct names, not on every row
    return values.isin([n for n in values.unique() if test(n)]).to_numpy(dtype=bool)


def user_requests(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows that are requests as a user sees them: the asynchronous API's transport aside.

    A poll is never one (its run's row says how the run ended); an accepted submit neither (its
    run has a row of its own); a refused submit is: the user asked and got no run.
    """
    poll = _names_matching(rows, lambda n: n.endswith(POLL_SUFFIX))
    submit = _names_matching(rows, lambda n: n.endswith(SUBMIT_SUFFIX))
    if not (poll.any() or submit.any()):
        return rows
    accepted = submit & rows["outcome"].isin(SUCCESS_OUTCOMES).to_numpy(dtype=bool)
    return rows[~(poll | accepted)]


def run_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """The run rows of ``rows`` (names starting with :data:`RUN_PREFIX`), chosen on categories."""
    return rows[_names_matching(rows, lambda n: n.startswith(RUN_PREFIX))]


def flags(name: str) -> frozenset[str]:
    """The flags of a run row's name: ``investigation [async, resumed]`` -> {resumed}."""
    inner = name[len(RUN_PREFIX) :].rstrip("]")
    return frozenset(f.strip() for f in inner.split(",") if f.strip())


def run_slis(
    scope: Any, rows: pd.DataFrame, rebilled_factor: float = SliParams.rebilled_factor
) -> None:
    """Set :data:`RUN_SLIS` on ``scope`` (a ``ScopeSlis``) from its requests.csv rows.

    ``rebilled_factor`` is ``params.rebilled_factor`` of the SLO file (``SliParams``).
    """
    runs = run_rows(rows)
    if not len(runs):
        for name in RUN_SLIS:
            scope.set(name, None, NO_RUNS)
        return
    marks = runs["name"].astype(str).map(flags)
    answered = runs[runs["outcome"].isin(SUCCESS_OUTCOMES)]
    scope.set("accepted_runs", len(runs))
    for sli, flag in (
        ("lost_runs", "lost"),
        ("failed_runs", "failed"),
        ("resumed_runs", "resumed"),
        ("duplicate_completions", "duplicate"),
    ):
        scope.set(sli, int(marks.map(lambda f, flag=flag: flag in f).sum()))
    latency = np.asarray(answered["latency_ms"].dropna(), dtype=float)
    scope.set(
        "time_to_answer_p95_ms",
        float(np.quantile(latency, 0.95, method="inverted_cdf")) if latency.size else None,
        "no answered run in scope",
    )
    cost = answered["cost_usd"].dropna()
    scope.set(
        "cost_per_completed_run_usd",
        float(cost.sum()) / len(answered) if len(cost) else None,
        "no answered run reports cost_usd",
    )
    interrupted = marks.map(lambda f: bool(f & {"retried", "lost"}))
    scope.set("interrupted_runs", int(interrupted.sum()))
    paid, usual, why = interrupted_costs(runs, interrupted.to_numpy(dtype=bool))
    if paid is None or usual is None:
        scope.set("interrupted_run_cost_amplification", None, why)
        scope.set("rebilled_runs", None, why)
        return
    scope.set("interrupted_run_cost_amplification", float(paid.sum()) / float(usual.sum()))
    scope.set("rebilled_runs", int((paid > usual * rebilled_factor).sum()))


def interrupted_costs(
    runs: pd.DataFrame, interrupted: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray | None, str]:
    """``(cost of each comparable interrupted run, its case's uninterrupted cost, why not)``.

    Both are answered runs with a ``cost_usd``; a case's uninterrupted cost is the median over
    the scope's uninterrupted runs of that ``case_id``. An interrupted run whose case has no
    uninterrupted run in the scope cannot be compared and is left out.
    """
    if "case_id" not in runs.columns:
        return None, None, "requests.csv has no case_id column"
    answered = runs["outcome"].isin(SUCCESS_OUTCOMES).to_numpy(dtype=bool)
    cost = pd.to_numeric(runs["cost_usd"], errors="coerce").to_numpy(dtype=float)
    known = answered & np.isfinite(cost)
    cases = runs["case_id"].astype(str).to_numpy()
    if not (known & interrupted).any():
        return None, None, "no answered interrupted run with a cost in scope"
    plain = known & ~interrupted
    usual = pd.Series(cost[plain]).groupby(cases[plain]).median()
    chosen = known & interrupted & np.isin(cases, usual.index.to_numpy())
    if not chosen.any():
        return None, None, "no interrupted run's case was also answered uninterrupted in scope"
    expected = usual.reindex(cases[chosen]).to_numpy(dtype=float)
    if expected.sum() <= 0:
        return None, None, "the interrupted runs' cases cost nothing uninterrupted"
    return cost[chosen], expected, ""


def run_cost_amplification(scopes: dict[str, Any], has_phases: bool) -> None:
    """Set :data:`AMPLIFICATION` on an experiment's phase scopes (and ``all`` = fault's)."""
    if not has_phases or "baseline" not in scopes:
        for scope in scopes.values():
            scope.set(AMPLIFICATION, None, "no baseline phase")
        return
    base = scopes["baseline"].values.get("cost_per_completed_run_usd")
    for phase, scope in scopes.items():
        if phase == "all":
            continue
        own = scope.values.get("cost_per_completed_run_usd")
        if not base or own is None:
            why = "no completed run with a cost in " + ("this phase" if base else "the baseline")
            scope.set(AMPLIFICATION, None, why)
        else:
            scope.set(AMPLIFICATION, float(own) / float(base))
    fault = scopes.get("fault")
    value = fault.values.get(AMPLIFICATION) if fault is not None else None
    if "all" in scopes:
        scopes["all"].set(AMPLIFICATION, value, "fault phase: no value")


#: At most this many unfinished runs are listed per experiment in the report (the rest counted).
UNFINISHED_LISTED: Final = 50


def unfinished_runs(
    runs: pd.DataFrame, experiment: str, started_at: float
) -> tuple[list[dict[str, Any]], int]:
    """An experiment's runs that ended ``failed`` or ``lost``, for the report: ``(listed, more)``.

    ``runs`` are :func:`run_rows` of requests.csv (chosen once for every experiment).

    Each has ``at_s`` (submit time from ``started_at``), ``kind`` (``failed``: the agent
    dead-lettered it; ``lost``: no answer by the deadline), ``case_id`` and ``reason`` (the
    ``error`` column: the agent's own reason for a failed run).
    """
    runs = runs[runs["experiment"].astype(str) == experiment]
    marks = runs["name"].astype(str).map(flags)
    kinds = marks.map(lambda f: "failed" if "failed" in f else "lost" if "lost" in f else "")
    chosen = runs[kinds.to_numpy() != ""].sort_values("ts", kind="stable")
    listed = [
        {
            "at_s": float(row.ts) - started_at,
            "kind": kinds[row.Index],
            "case_id": "" if pd.isna(getattr(row, "case_id", None)) else str(row.case_id),
            "reason": "" if pd.isna(row.error) else str(row.error),
        }
        for row in chosen.head(UNFINISHED_LISTED).itertuples()
    ]
    return listed, max(0, len(chosen) - UNFINISHED_LISTED)
