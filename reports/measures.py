"""Pure computations under the SLIs: counter increases, the replicas series, recovery, scale-out.

Inputs are samples.csv rows (long format) and request timestamps; docs/slo.md defines what each
returns.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from reports.catalogue import SliParams

_EPS = 1e-9


def user_latency(rows: pd.DataFrame) -> pd.Series:
    """The latency each request's user saw (ms): the latency SLIs' column.

    ``user_latency_ms`` (from the arrival's scheduled start: in the open model it includes any
    wait before the send, wrk2's coordinated-omission correction), else ``latency_ms``: in the
    closed model the two are equal, and a run directory recorded before the schedule columns
    is read as closed (docs/contracts.md, requests.csv).
    """
    if "user_latency_ms" not in rows.columns:
        return rows["latency_ms"]
    user = pd.to_numeric(rows["user_latency_ms"], errors="coerce")
    return user.fillna(rows["latency_ms"])


def counter_increases(samples: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Rows of a cumulative ``metric`` with ``increase`` since the previous sample of its label.

    The first sample of a label has increase 0 (nothing is known before it); a drop is a counter
    reset (a restarted process), so the increase is the new value (Prometheus ``increase``).
    """
    rows = samples[samples["metric"] == metric].sort_values(["label", "ts"], kind="stable")
    diff = rows.groupby("label", sort=False)["value"].diff()
    increase = diff.where(diff.isna() | (diff >= 0), rows["value"]).fillna(0.0)
    return rows.assign(increase=increase)


def select_replicas(samples: pd.DataFrame, label: str) -> tuple[pd.DataFrame, str]:
    """The ``replicas`` series of the system under test, or no rows and the reason.

    On kind the sampler writes one series per Deployment (and ``hpa/<name>``); ``label`` picks
    one. A single series is used whatever its label.
    """
    rows = samples[samples["metric"] == "replicas"]
    labels = sorted(set(rows["label"]))
    if not labels:
        return rows, "no replicas sample (samples.csv records replicas on kind only)"
    if label in labels:
        return rows[rows["label"] == label], ""
    if len(labels) == 1:
        return rows, ""
    shown = ", ".join(repr(x) for x in labels)
    return rows.iloc[0:0], f"replicas samples are labelled {shown}; none is {label!r}"


def recovery(
    ts: pd.Series, success: pd.Series, fault_end: float, end: float, params: SliParams
) -> tuple[float | None, bool]:
    """Seconds from ``fault_end`` to the first of ``recovery_sustain_s`` consecutive good seconds.

    Second k is ``[fault_end + k, fault_end + k + 1)``; it is good when it has at least one request
    and its success ratio is >= ``recovery_success_ratio``. Only whole seconds before ``end`` count.
    Never recovered: ``(None, False)`` -- not the remaining time, a lower bound that could pass
    a threshold longer than the recovery phase.
    """
    n_bins = math.floor(end - fault_end + _EPS)
    sustain = max(1, int(params.recovery_sustain_s))
    inside = (ts >= fault_end) & (ts < fault_end + n_bins)
    idx = np.floor(ts[inside].to_numpy(dtype=float) - fault_end).astype(int)
    idx = np.clip(idx, 0, max(n_bins - 1, 0))
    counts = np.bincount(idx, minlength=n_bins)
    good = np.bincount(idx, weights=success[inside].to_numpy(dtype=float), minlength=n_bins)
    ok = (counts > 0) & (good >= params.recovery_success_ratio * counts - _EPS)
    streak = 0
    for k, flag in enumerate(ok[:n_bins]):
        streak = streak + 1 if flag else 0
        if streak == sustain:
            return float(k - sustain + 1), True
    return None, False


def scale_out(replicas: pd.DataFrame, t0: float, end: float) -> tuple[float | None, bool | None]:
    """Seconds from ``t0`` to the first replicas sample above the count at ``t0``.

    ``(None, None)`` without samples; ``(None, False)`` when the count never grew.
    """
    if not len(replicas):
        return None, None
    before = replicas[replicas["ts"] <= t0]
    reference = float(before["value"].iloc[-1] if len(before) else replicas["value"].iloc[0])
    above = replicas[(replicas["ts"] >= t0) & (replicas["value"] > reference)]
    if len(above):
        return float(above["ts"].iloc[0] - t0), True
    return None, False
