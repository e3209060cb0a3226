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

import numpy as np
import pandas as pd

from reports.load import TRIAL_GROUP, group_ids
from stampede.contract import Outcome

__all__ = ["GROUP_COLUMN", "TrialStats", "group_ids", "trial_groups", "trial_stats"]

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


#: reports.load adds this column to requests: an int64 id unique to each (experiment,
#: trial), -1 outside trial groups. Hashing 10M trial strings once instead of once per scope
#: (33 scopes in an 8-experiment run) is what keeps pass^k linear and cheap at 10M rows.
GROUP_COLUMN = TRIAL_GROUP
_COLUMNS = ["case_id", "repeat", "attempts", "distinct", "correct", "keys", "complete",
            "consistent"]  # fmt: skip


def _distinct(gid: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """How many distinct non-NaN ``values`` each of the ``n`` groups has."""
    known = ~np.isnan(values)
    g, v = gid[known], values[known]
    if len(v) and (v >= 0).all() and (v % 1 == 0).all() and v.max() < 2**20:
        # attempt numbers and key codes: small whole numbers, so a pair is one int64
        width = int(v.max()) + 1
        pairs = pd.unique(g * width + v.astype(np.int64))
        return np.bincount(pairs // width, minlength=n)
    frame = pd.DataFrame({"g": g, "v": v}).drop_duplicates()
    return np.bincount(frame["g"].to_numpy(), minlength=n)


def _dense(ids: np.ndarray) -> np.ndarray:
    """Scope-local group numbers 0..n-1 of non-negative ``ids`` (order: by id).

    Dense ids (reports.load numbers them 0..groups-1) go through an array lookup instead of a
    hash table: at 10M rows that is what keeps 33 scopes cheap. Sparse ids are factorized.
    """
    top = int(ids.max())
    if top >= 4 * len(ids) + 1024:  # sparse (group_ids of a frame of its own): hash them
        return pd.factorize(ids, sort=True)[0]
    present = np.zeros(top + 1, dtype=bool)
    present[ids] = True
    return (np.cumsum(present) - 1)[ids]


def _key_codes(rows: pd.DataFrame, where: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Float codes of ``answer_key`` at ``where`` (NaN for an empty key) and the empty mask."""
    keys = rows["answer_key"]
    if isinstance(keys.dtype, pd.CategoricalDtype):  # reports.load: codes already there
        key_codes = keys.cat.codes.to_numpy()[where]
        uniques = keys.cat.categories
    else:
        key_codes, uniques = pd.factorize(keys.iloc[where])
    empty = np.isin(key_codes, [i for i, k in enumerate(uniques) if str(k) == ""])
    codes = key_codes.astype(float)
    codes[empty] = np.nan  # nunique of non-empty keys only
    return codes, empty


def _groups(rows: pd.DataFrame, *, first: bool = False) -> dict[str, np.ndarray] | None:
    """Per-group arrays (vectorised; numpy, no per-group objects); None without a group.

    ``first``: also each group's first row (its position in ``rows``).
    """
    ids = rows[GROUP_COLUMN].to_numpy(dtype=np.int64) if GROUP_COLUMN in rows else group_ids(rows)
    where = np.flatnonzero(ids >= 0)
    if not len(where):
        return None
    gid = _dense(ids[where])
    n = int(gid.max()) + 1
    out: dict[str, np.ndarray] = {}
    if first:
        at = np.full(n, len(gid), dtype=np.int64)
        np.minimum.at(at, gid, np.arange(len(gid)))
        out["first"] = where[at]
    repeat = rows["repeat"].to_numpy(dtype=float)[where]
    attempts = np.bincount(gid, minlength=n)
    # A group of one row has one distinct attempt and key (or none if NaN/empty) and its K is
    # that row's: only the rows of larger groups need ufunc.at or the pair hashing (none at
    # all when every K is 1).
    single = attempts[gid] == 1
    high, low = np.full(n, -np.inf), np.full(n, np.inf)
    many = ~single
    np.fmax.at(high, gid[many], repeat[many])  # fmax/fmin skip NaN, as pandas' max/min do
    np.fmin.at(low, gid[many], repeat[many])
    high[np.isinf(high)], low[np.isinf(low)] = np.nan, np.nan
    high[gid[single]] = low[gid[single]] = repeat[single]
    correct = (rows["outcome"] == Outcome.CORRECT).to_numpy(dtype=float)[where]
    codes, empty = _key_codes(rows, where)
    attempt = rows["attempt"].to_numpy(dtype=float)[where]
    distinct = np.bincount(gid[single], weights=~np.isnan(attempt[single]), minlength=n)
    keys = np.bincount(gid[single], weights=~np.isnan(codes[single]), minlength=n)
    if not single.all():
        distinct = distinct + _distinct(gid[many], attempt[many], n)
        keys = keys + _distinct(gid[many], codes[many], n)
    distinct, keys = distinct.astype(np.int64), keys.astype(np.int64)
    no_key = np.bincount(gid, weights=empty.astype(float), minlength=n)
    return out | {
        "repeat": high,
        "attempts": attempts,
        "distinct": distinct,
        "correct": np.bincount(gid, weights=correct, minlength=n).astype(np.int64),
        "keys": keys,
        "complete": (high == low) & (attempts == high) & (distinct == high),
        "consistent": (no_key == 0) & (keys == 1),
    }


def trial_groups(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per trial group in ``rows``: K, attempts seen, correct count, answer agreement.

    Columns: ``case_id``, ``repeat``, ``attempts`` (rows), ``distinct`` (attempt numbers),
    ``correct``, ``keys`` (distinct non-empty answer keys), ``complete``, ``consistent``; the
    index is ``(experiment, trial)`` in order of first appearance. Rows without a ``trial`` are
    ignored.
    """
    groups = _groups(rows, first=True)
    if groups is None:
        return pd.DataFrame(columns=_COLUMNS)
    order = np.argsort(groups["first"], kind="stable")  # first-appearance order
    groups = {k: v[order] for k, v in groups.items()}
    at = groups.pop("first")
    index = pd.MultiIndex.from_arrays(
        [rows["experiment"].iloc[at].to_numpy(), rows["trial"].iloc[at].array],
        names=["experiment", "trial"],
    )
    return pd.DataFrame({"case_id": rows["case_id"].iloc[at].to_numpy(), **groups}, index=index)


def trial_stats(rows: pd.DataFrame) -> TrialStats:
    """pass_hat_k, pass_at_k, consistency and trials over the complete groups of ``rows``."""
    groups = _groups(rows)
    total = 0 if groups is None else len(groups["attempts"])
    done = groups["complete"] if groups is not None else np.zeros(0, dtype=bool)
    n, incomplete = int(done.sum()), total - int(done.sum())
    if groups is None or not n:
        if not total:
            why = "no trial group in scope (no investigation, or a run recorded before pass^k)"
        else:
            why = (
                f"no complete trial group in scope: {incomplete} group(s) have attempts outside "
                "it (cut by the end, or straddling a phase boundary)"
            )
        return TrialStats(0, None, None, None, incomplete=incomplete, why=why)
    repeat = groups["repeat"][done]
    correct = groups["correct"][done].astype(float)
    # Agreement needs two answers at least: a case asked once agrees with itself trivially.
    multi = repeat >= 2
    keyed = bool((groups["keys"][done][multi] > 0).any())
    why = "" if keyed else (NO_KEYS if multi.any() else ONCE)
    return TrialStats(
        trials=n,
        pass_hat_k=float((correct == repeat).mean()),
        pass_at_k=float((correct >= 1).mean()),
        consistency=float(groups["consistent"][done][multi].mean()) if keyed else None,
        repeats=tuple(sorted(int(k) for k in np.unique(repeat))),
        incomplete=incomplete,
        why=why,
    )
