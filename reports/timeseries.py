"""Per-second series for the report's timelines, computed from raw rows (pure).

Only the plots use these: SLIs never average per-second values. Second ``k`` of a window is
``[start + k, start + k + 1)``; percentiles inside a second are nearest-rank over that second's
raw rows.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from reports.slis import PERCENTILE_METHOD
from stampede.contract import OUTCOMES, SUCCESS_OUTCOMES, Outcome


def _nearest_rank(values: pd.Series, q: float) -> float:
    values = values.dropna()
    if not len(values):
        return math.nan
    return float(np.quantile(values.to_numpy(dtype=float), q / 100.0, method=PERCENTILE_METHOD))


def _second(ts: pd.Series, start: float) -> pd.Series:
    return np.floor(ts - start).astype(int)


def per_second(
    rows: pd.DataFrame, start: float, end: float, goodput_latency_ms: float
) -> pd.DataFrame:
    """One row per second ``t`` of ``[start, end]``: rates, percentiles, outcome counts, retries."""
    seconds = max(1, math.ceil(end - start))
    index = pd.RangeIndex(seconds, name="t")
    inside = rows[(rows["ts"] >= start) & (rows["ts"] <= end)]
    sec = _second(inside["ts"], start).clip(0, seconds - 1)
    grouped = inside.groupby(sec)
    out = pd.DataFrame(index=index)
    out["requests"] = grouped.size().reindex(index, fill_value=0)
    for outcome in OUTCOMES:
        counts = (inside["outcome"] == outcome).groupby(sec).sum()
        out[outcome] = counts.reindex(index, fill_value=0).astype(int)
    good = (inside["outcome"] == Outcome.CORRECT) & (inside["latency_ms"] <= goodput_latency_ms)
    out["goodput"] = good.groupby(sec).sum().reindex(index, fill_value=0).astype(int)
    successes = sum(out[outcome.value] for outcome in SUCCESS_OUTCOMES)
    out["success_ratio"] = successes / out["requests"].where(out["requests"] > 0)
    latency = inside["latency_ms"].groupby(sec)
    for q in (50, 95, 99):
        out[f"p{q}"] = latency.agg(_nearest_rank, q=q).reindex(index)
    retries = grouped["retries"].sum().reindex(index, fill_value=0.0)
    out["retries_per_request"] = retries / out["requests"].where(out["requests"] > 0)
    return out.reset_index()


def sample_series(samples: pd.DataFrame, metric: str, start: float, end: float) -> pd.DataFrame:
    """``t`` (seconds since ``start``), ``label``, ``value`` of one metric inside the window."""
    rows = samples[
        (samples["metric"] == metric) & (samples["ts"] >= start) & (samples["ts"] <= end)
    ]
    return pd.DataFrame(
        {"t": rows["ts"] - start, "label": rows["label"], "value": rows["value"]}
    ).reset_index(drop=True)


def sampled_retries_per_second(
    increases: pd.DataFrame, start: float, end: float, seconds: int
) -> pd.Series:
    """Sum over dependencies of the retries_total increase observed in each second."""
    index = pd.RangeIndex(seconds, name="t")
    rows = increases[(increases["ts"] >= start) & (increases["ts"] <= end)]
    sec = _second(rows["ts"], start).clip(0, seconds - 1)
    return rows["increase"].groupby(sec).sum().reindex(index, fill_value=0.0)
