"""What the fault proxy injected when, from its samples.csv rows (pure; the timeline draws it).

The proxy's rows (stampede.metricmap ``PROXY``) are labelled ``<source>:<rest>``:
``faults_injected_total`` ``proxy:<upstream>:<fault>`` (cumulative), ``fault_active``
``proxy:<target>`` (1 while a fault is set), ``proxy_calls_total`` ``proxy:<upstream>:<result>``
and ``added_delay_seconds_total`` ``proxy:<upstream>`` (cumulative seconds). Increases are taken
within one experiment's rows only (the proxy outlives experiments: what it counted between two
is nobody's). A run without a proxy has none of these rows, and the timeline is unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from reports.measures import counter_increases

INJECTED = "faults_injected_total"
ACTIVE = "fault_active"
CALLS = "proxy_calls_total"
DELAY = "added_delay_seconds_total"
PROXY_METRICS = (INJECTED, ACTIVE, CALLS, DELAY)


@dataclass(frozen=True)
class Span:
    """A fault set on ``target`` from ``start`` to ``end`` (seconds since the experiment start)."""

    target: str
    start: float
    end: float
    open_end: bool  # still set at the last sample: the span ends there, not where the fault did


def unprefixed(label: str) -> str:
    """``proxy:tool:get_logs:latency`` -> ``tool:get_logs:latency`` (the source name dropped)."""
    return label.split(":", 1)[1] if ":" in label else label


def has_proxy_rows(samples: pd.DataFrame, experiment: str) -> bool:
    """Whether the fault proxy wrote rows for ``experiment``."""
    return bool(
        ((samples["experiment"] == experiment) & samples["metric"].isin(PROXY_METRICS)).any()
    )


def _rows(samples: pd.DataFrame, experiment: str, metric: str) -> pd.DataFrame:
    return samples[(samples["experiment"] == experiment) & (samples["metric"] == metric)]


def _per_second(rows: pd.DataFrame, column: str, start: float, seconds: int) -> pd.DataFrame:
    """``label`` x second sums of ``column``, seconds ``0..seconds-1`` (missing ones 0)."""
    index = pd.RangeIndex(seconds, name="t")
    if not len(rows):
        return pd.DataFrame(index=index)
    sec = np.floor(rows["ts"] - start).astype(int).clip(0, seconds - 1)
    table = rows.assign(t=sec).pivot_table(
        index="t", columns="label", values=column, aggfunc="sum", fill_value=0.0
    )
    return table.reindex(index, fill_value=0.0)


def injected_per_second(
    samples: pd.DataFrame, experiment: str, start: float, end: float
) -> pd.DataFrame:
    """Calls a fault changed in each second, one column per ``<upstream>:<fault>`` that injected.

    Columns with no injection in the window are left out (the proxy exposes every kind at 0).
    """
    seconds = max(1, math.ceil(end - start))
    rows = counter_increases(_rows(samples, experiment, INJECTED), INJECTED)
    rows = rows[(rows["ts"] >= start) & (rows["ts"] <= end)]
    table = _per_second(rows, "increase", start, seconds)
    table = table.loc[:, table.sum() > 0] if len(table.columns) else table
    return table.rename(columns=unprefixed)


def added_delay_ms_per_call(
    samples: pd.DataFrame, experiment: str, start: float, end: float
) -> pd.DataFrame:
    """Mean delay the proxy added per call in each second (ms), one column per upstream.

    Seconds without a call are NaN; upstreams that never added delay are left out.
    """
    seconds = max(1, math.ceil(end - start))
    delay = counter_increases(_rows(samples, experiment, DELAY), DELAY)
    calls = counter_increases(_rows(samples, experiment, CALLS), CALLS)
    calls = calls.assign(label=calls["label"].str.rsplit(":", n=1).str[0])
    inside = [r[(r["ts"] >= start) & (r["ts"] <= end)] for r in (delay, calls)]
    added = _per_second(inside[0], "increase", start, seconds)
    count = _per_second(inside[1], "increase", start, seconds)
    out = pd.DataFrame(index=added.index)
    for label in added.columns:
        if float(added[label].sum()) <= 0 or label not in count.columns:
            continue
        out[unprefixed(label)] = 1000.0 * added[label] / count[label].where(count[label] > 0)
    return out


def active_spans(samples: pd.DataFrame, experiment: str, start: float, end: float) -> list[Span]:
    """Where ``fault_active`` was 1, per target: from its first 1 to the next 0 sample."""
    rows = _rows(samples, experiment, ACTIVE)
    rows = rows[(rows["ts"] >= start) & (rows["ts"] <= end)].sort_values(["label", "ts"])
    spans: list[Span] = []
    for label, group in rows.groupby("label", sort=True):
        opened: float | None = None
        for ts, value in zip(group["ts"], group["value"], strict=True):
            if value >= 0.5 and opened is None:
                opened = float(ts)
            elif value < 0.5 and opened is not None:
                spans.append(Span(unprefixed(str(label)), opened - start, float(ts) - start, False))
                opened = None
        if opened is not None:
            last = float(group["ts"].iloc[-1])
            spans.append(Span(unprefixed(str(label)), opened - start, last - start, True))
    return spans
