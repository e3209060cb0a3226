"""Per-bin series for the report's timelines, computed from raw rows (pure).

Only the plots use these: SLIs never average per-bin values. Bin ``k`` of a window is
``[start + k*w, start + (k+1)*w)`` with ``w`` = ``bin_s`` seconds (1 unless the report is long:
see :func:`bin_width`); rates are per second whatever ``w`` is, and percentiles inside a bin are
nearest-rank over that bin's raw rows. The report's size therefore depends on how long the run
was, capped, never on how many rows it has.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from stampede.contract import OUTCOMES, SUCCESS_OUTCOMES, Outcome

#: Bins over every timeline of one report together; past it the bins get wider (report size).
MAX_BINS = 2400


def bin_width(total_seconds: float, max_bins: int = MAX_BINS) -> int:
    """Whole seconds per bin so that ``total_seconds`` of timelines fit in ``max_bins`` bins."""
    return max(1, math.ceil(total_seconds / max_bins))


def _bins(ts: pd.Series, start: float, bin_s: int, n_bins: int) -> np.ndarray:
    index = np.floor((ts.to_numpy(dtype=float) - start) / bin_s).astype(np.int64)
    return np.clip(index, 0, n_bins - 1)


def nearest_rank_per_bin(bins: np.ndarray, values: np.ndarray, n_bins: int, q: float) -> np.ndarray:
    """The nearest-rank ``q``-th percentile of ``values`` in each bin (NaN when it is empty).

    Vectorised (one sort) and the same rule as numpy's ``quantile(method="inverted_cdf")``,
    which reports.slis uses: virtual index ``n*q - 1``, rounded up when it has a fraction.
    """
    known = ~np.isnan(values)
    bins, values = bins[known], values[known]
    order = np.lexsort((values, bins))
    counts = np.bincount(bins, minlength=n_bins)
    first = np.concatenate(([0], np.cumsum(counts)[:-1]))
    virtual = counts * (q / 100.0) - 1
    below = np.floor(virtual)
    rank = np.where(virtual - below > 0, below + 1, below)
    rank = np.clip(rank, 0, np.maximum(counts - 1, 0)).astype(np.int64)
    out = np.full(n_bins, np.nan)
    filled = counts > 0
    out[filled] = values[order][first[filled] + rank[filled]]
    return out


def per_second(
    rows: pd.DataFrame, start: float, end: float, goodput_latency_ms: float, bin_s: int = 1
) -> pd.DataFrame:
    """One row per bin ``t`` (its start, s) of ``[start, end]``: rates, percentiles, outcomes.

    ``requests``, the outcome columns and ``goodput`` are per second (count / ``bin_s``).
    """
    n_bins = max(1, math.ceil((end - start) / bin_s))
    inside = rows[(rows["ts"] >= start) & (rows["ts"] <= end)]
    sec = _bins(inside["ts"], start, bin_s, n_bins)
    count = np.bincount(sec, minlength=n_bins).astype(float)
    out = pd.DataFrame({"t": np.arange(n_bins, dtype=float) * bin_s})
    out["requests"] = count / bin_s
    outcome = inside["outcome"]
    for name in OUTCOMES:
        hits = (outcome == name).to_numpy(dtype=float)
        out[name] = np.bincount(sec, weights=hits, minlength=n_bins) / bin_s
    latency = inside["latency_ms"].to_numpy(dtype=float)
    good = (outcome == Outcome.CORRECT).to_numpy(dtype=bool) & (latency <= goodput_latency_ms)
    out["goodput"] = np.bincount(sec, weights=good, minlength=n_bins) / bin_s
    successes = sum(out[o.value] for o in SUCCESS_OUTCOMES) * bin_s
    answered = np.where(count > 0, count, np.nan)
    out["success_ratio"] = successes / answered
    for q in (50, 95, 99):
        out[f"p{q}"] = nearest_rank_per_bin(sec, latency, n_bins, q)
    retries = np.nan_to_num(inside["retries"].to_numpy(dtype=float))
    out["retries_per_request"] = np.bincount(sec, weights=retries, minlength=n_bins) / answered
    return out


def sample_series(
    samples: pd.DataFrame, metric: str, start: float, end: float, bin_s: int = 1
) -> pd.DataFrame:
    """``t`` (seconds since ``start``), ``label``, ``value`` of one metric inside the window.

    With ``bin_s`` > 1 one point per label and bin: the largest value (the worst state), at
    the bin's start.
    """
    rows = samples[
        (samples["metric"] == metric) & (samples["ts"] >= start) & (samples["ts"] <= end)
    ]
    frame = pd.DataFrame(
        {"t": rows["ts"] - start, "label": rows["label"].astype(str), "value": rows["value"]}
    ).reset_index(drop=True)
    if bin_s <= 1 or frame.empty:
        return frame
    frame["t"] = np.floor(frame["t"] / bin_s) * bin_s
    return frame.groupby(["label", "t"], as_index=False, sort=True)["value"].max()


def sampled_retries_per_second(
    increases: pd.DataFrame, start: float, end: float, seconds: int, bin_s: int = 1
) -> pd.Series:
    """Sum over dependencies of the retries_total increase observed in each bin (``seconds``
    bins of ``bin_s`` s), per second."""
    rows = increases[(increases["ts"] >= start) & (increases["ts"] <= end)]
    sec = _bins(rows["ts"], start, bin_s, seconds)
    total = np.bincount(sec, weights=rows["increase"].to_numpy(dtype=float), minlength=seconds)
    return pd.Series(total / bin_s, index=pd.RangeIndex(seconds, name="t"))
