"""pass^k from requests.csv: trial groups, and the SLIs over the complete ones (pure).

A *trial group* is one case asked K times in a row by one user (``--stampede-repeat K`` or the
case's ``repeat``): the rows sharing ``(experiment, trial)``, numbered ``attempt`` 1..``repeat``.
A group is *complete* in a scope when all its K attempts are among the scope's rows, once each;
the others (cut by the end of the run, or straddling two phases) are not used. Over the complete
groups (docs/slo.md, "pass^k"):

* ``pass_hat_k``: share answered ``correct`` in all K attempts (τ-bench's pass^k);
* ``pass_at_k``: share with at least one ``correct`` attempt;
* ``consistency``: share of the groups with K >= 2 whose K answers agree: one ``answer_key``,
  none empty — None when every group was asked once (K = 1: nothing to agree with), or when no
  attempt of such a group has a key (nothing answered, or a profile that records no keys:
  never a false 0);
* ``trials``: how many complete groups there are. No complete group: the three ratios are None.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from stampede.contract import Outcome

__all__ = ["TrialStats", "trial_groups", "trial_stats"]

_KEY = ["experiment", "trial"]
ONCE = "every complete trial group asked its case once (K = 1): there are no answers to agree"
NO_KEYS = (
    "no attempt of a complete trial group has an answer_key (nothing was answered, or the "
    "profile records no answer keys)"
)


@dataclass(frozen=True)
class TrialStats:
    """The pass^k SLIs of one scope; ratios are None when no group is complete (``why``)."""

    trials: int
    pass_hat_k: float | None
    pass_at_k: float | None
    consistency: float | None
    repeats: tuple[int, ...] = ()  # the distinct K of the complete groups
    incomplete: int = 0
    why: str = ""


def trial_groups(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per trial group in ``rows``: K, attempts seen, correct count, answer agreement.

    Columns: ``case_id``, ``repeat``, ``attempts`` (rows), ``distinct`` (attempt numbers),
    ``correct``, ``keys`` (distinct non-empty answer keys), ``complete``, ``consistent``. Rows
    without a ``trial`` are ignored.
    """
    grouped = rows[rows["trial"].astype(str) != ""]
    if not len(grouped):
        columns = ["case_id", "repeat", "attempts", "distinct", "correct", "keys", "complete",
                   "consistent"]  # fmt: skip
        return pd.DataFrame(columns=columns)
    key = grouped["answer_key"].astype(str)
    frame = grouped.assign(
        is_correct=grouped["outcome"] == Outcome.CORRECT,
        no_key=key == "",
        key=key.where(key != ""),  # NaN: nunique counts non-empty keys only
    )
    by = frame.groupby(_KEY, sort=False)
    out = by.agg(
        case_id=("case_id", "first"),
        repeat=("repeat", "max"),
        repeat_min=("repeat", "min"),
        attempts=("attempt", "size"),
        distinct=("attempt", "nunique"),
        correct=("is_correct", "sum"),
        no_key=("no_key", "sum"),
        keys=("key", "nunique"),
    )
    out["complete"] = (
        (out["repeat"] == out["repeat_min"])
        & (out["attempts"] == out["repeat"])
        & (out["distinct"] == out["repeat"])
    )
    out["consistent"] = (out["no_key"] == 0) & (out["keys"] == 1)
    return out.drop(columns=["repeat_min", "no_key"])


def trial_stats(rows: pd.DataFrame) -> TrialStats:
    """pass_hat_k, pass_at_k, consistency and trials over the complete groups of ``rows``."""
    groups = trial_groups(rows)
    done = groups[groups["complete"].astype(bool)]
    n, incomplete = len(done), len(groups) - len(done)
    if not n:
        if not len(groups):
            why = "no trial group in scope (no investigation, or a run recorded before pass^k)"
        else:
            why = (
                f"no complete trial group in scope: {incomplete} group(s) have attempts outside "
                "it (cut by the end, or straddling a phase boundary)"
            )
        return TrialStats(0, None, None, None, incomplete=incomplete, why=why)
    repeat = done["repeat"].astype(float)
    correct = done["correct"].astype(float)
    # Agreement needs two answers at least: a case asked once agrees with itself trivially.
    multi = done[repeat >= 2]
    keyed = bool((multi["keys"] > 0).any())
    why = "" if keyed else (NO_KEYS if len(multi) else ONCE)
    return TrialStats(
        trials=n,
        pass_hat_k=float((correct == repeat).mean()),
        pass_at_k=float((correct >= 1).mean()),
        consistency=float(multi["consistent"].astype(bool).mean()) if keyed else None,
        repeats=tuple(sorted({int(k) for k in repeat})),
        incomplete=incomplete,
        why=why,
    )
