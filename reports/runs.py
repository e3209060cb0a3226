"""SLIs of durable (asynchronous) investigations, from the run rows of ``requests.csv`` (pure).

The asynchronous Locust user (loadtests/async_user.py) writes one row per accepted run, named
``investigation [async]`` or ``investigation [async, <flags>]``: its latency is submit -> final
answer, its outcome the judge's verdict, its flags what happened to it (``resumed``,
``retried``, ``duplicate``, ``failed``, ``lost``). The submit and poll requests have rows of
their own (``[submit]``, ``[poll]``) and are not runs.

* ``accepted_runs`` - runs accepted (202) in the scope;
* ``lost_runs`` - accepted, no answer by the user's deadline;
* ``failed_runs`` - dead-lettered by the agent (``failed``, with its reason);
* ``resumed_runs`` - taken over after their worker died and resumed after a completed node;
* ``duplicate_completions`` - runs the agent reports completed more than once;
* ``time_to_answer_p95_ms`` - p95 of submit -> answer over answered runs (nearest rank);
* ``cost_per_completed_run_usd`` - billed cost of the answered runs / their number;
* ``run_cost_amplification`` - that cost in a phase / in the same experiment's baseline phase
  (the fault phase's value also on ``all``): what a kill costs (``no_checkpoint`` pays the
  completed calls of every interrupted run again).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import numpy as np
import pandas as pd

from stampede.contract import SUCCESS_OUTCOMES

RUN_PREFIX: Final = "investigation [async"
RUN_SLIS: Final = (
    "accepted_runs",
    "lost_runs",
    "failed_runs",
    "resumed_runs",
    "duplicate_completions",
    "time_to_answer_p95_ms",
    "cost_per_completed_run_usd",
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
    return names.astype(str).map(test).to_numpy(dtype=bool)


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


def flags(name: str) -> frozenset[str]:
    """The flags of a run row's name: ``investigation [async, resumed]`` -> {resumed}."""
    inner = name[len(RUN_PREFIX) :].rstrip("]")
    return frozenset(f.strip() for f in inner.split(",") if f.strip())


def run_slis(scope: Any, rows: pd.DataFrame) -> None:
    """Set :data:`RUN_SLIS` on ``scope`` (a ``ScopeSlis``) from its requests.csv rows."""
    runs = rows[rows["name"].astype(str).str.startswith(RUN_PREFIX)]
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
