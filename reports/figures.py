"""Plotly figures of the report (pure: frames in, figures out)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from reports.catalogue import PHASES
from reports.injected import (
    active_spans,
    added_delay_ms_per_call,
    has_proxy_rows,
    injected_per_second,
)
from reports.phases import ExperimentPhases
from reports.runs import run_rows
from reports.slis import ExperimentSummary, Summary
from reports.timeseries import per_second, sample_series, sampled_retries_per_second

OUTCOME_COLORS = {
    "correct": "#2e9e5b",
    "degraded": "#e3a21a",
    "wrong": "#8e44ad",
    "shed": "#7f8c9d",
    "error": "#d64541",
    "unjudged": "#4a6fa5",
}
PHASE_COLORS = {"baseline": "#7aa6d6", "fault": "#d64541", "recovery": "#2e9e5b"}
BREAKER_TICKS = {0: "closed", 1: "half-open", 2: "open"}
_FONT = "Inter, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"


def _layout(fig: go.Figure, height: int) -> go.Figure:
    fig.update_layout(
        template="plotly_white",
        height=height,
        margin={"l": 70, "r": 20, "t": 40, "b": 40},
        font={"family": _FONT, "size": 12, "color": "#22303c"},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.01, "x": 0},
        hovermode="x unified",
    )
    return fig


_TITLES = {
    "injected": "Faults injected by the fault proxy (calls changed per second; shaded: fault set)",
    "throughput": "Throughput (req/s)",
    "latency": "Latency per second (ms, nearest-rank over that second's requests)",
    "outcomes": "Outcome mix (requests per second)",
    "breakers": "Circuit breaker state per dependency",
    "retries": "Retries per request",
    "queue": "Queue depth (accepted, not finished; the reference agent: durable investigations)",
}
_ACTIVE_COLORS = ("#e67e22", "#16a085", "#c0392b", "#2980b9", "#8e44ad", "#7f8c8d")


def _axis(row: int, axis: str = "x") -> str:
    return axis if row == 1 else f"{axis}{row}"


def _note(fig: go.Figure, row: int, text: str) -> None:
    """Say in the middle of an empty panel why it is empty (an absent metric, no samples)."""
    fig.add_annotation(
        text=text,
        x=0.5,
        y=0.5,
        xref=f"{_axis(row)} domain",
        yref=f"{_axis(row, 'y')} domain",
        showarrow=False,
        font={"color": "#7f8c9d"},
        name="gap",
    )


def _gap_text(exp: ExperimentSummary, metric: str, fallback: str) -> str:
    gap = exp.coverage.gap(metric)
    return gap.text if gap is not None else fallback


def experiment_timeline(
    exp: ExperimentSummary,
    requests: pd.DataFrame,
    samples: pd.DataFrame,
    increases: pd.DataFrame,
    goodput_latency_ms: float,
    bin_s: int = 1,
) -> go.Figure:
    """Throughput, latency, outcome mix, breaker states and retries per second, fault shaded.

    ``bin_s`` > 1 (a long run: reports.timeseries.bin_width) aggregates into bins of that many
    seconds, so the figure's size does not grow with the run's length or its rows.

    With fault-proxy rows in samples.csv a first panel shows what it injected when (per upstream
    and fault kind) and where a fault was set; a metric the target does not expose is named in
    its panel ("absent: ...", "not measured: ..."), never drawn as an empty or zero line.
    """
    phases = exp.phases
    panels = list(_TITLES)
    if not has_proxy_rows(samples, phases.name):
        panels.remove("injected")
    rows = requests[requests["experiment"] == phases.name]
    queue = sample_series(samples, "queue_depth", phases.start, phases.end, bin_s)
    if queue.empty or not (queue["value"].gt(0).any() or len(run_rows(rows))):
        panels.remove("queue")  # nothing queued, no asynchronous run: a flat 0 says nothing
    row = {name: i + 1 for i, name in enumerate(panels)}
    fig = make_subplots(
        rows=len(panels),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.045 * 5 / len(panels),
        subplot_titles=[_title(p, bin_s) for p in panels],
    )
    series = per_second(rows, phases.start, phases.end, goodput_latency_ms, bin_s)
    if "injected" in row:
        _injected(fig, row["injected"], samples, phases)
    _requests_panels(fig, row, series, goodput_latency_ms, bin_s)
    _proxy_delay(fig, row["latency"], samples, phases)
    _breakers(fig, row["breakers"], exp, samples, bin_s)
    _retries(fig, row["retries"], exp, series, increases, bin_s)
    if "queue" in row:
        _queue(fig, row["queue"], queue)
    _phases(fig, exp, row)
    last = len(panels)
    for name in ("throughput", "latency", "retries", "queue"):
        if name in row:
            fig.update_yaxes(rangemode="tozero", row=row[name], col=1)
    fig.update_xaxes(title_text="seconds since experiment start", row=last, col=1)
    fig.update_layout(barmode="stack", bargap=0)
    _layout(fig, 1150 + 220 * (len(panels) - 5))
    _legend_per_row(fig, last)
    return fig


def _title(panel: str, bin_s: int) -> str:
    if bin_s <= 1 or panel == "injected":
        return _TITLES[panel]
    return f"{_TITLES[panel]} — bins of {bin_s} s"


def _requests_panels(
    fig: go.Figure,
    row: dict[str, int],
    series: pd.DataFrame,
    goodput_latency_ms: float,
    bin_s: int = 1,
) -> None:
    """Throughput and goodput, latency percentiles, outcome mix: all from requests.csv."""
    t = series["t"] + bin_s / 2
    at = row["throughput"]
    fig.add_trace(
        go.Scatter(x=t, y=series["requests"], name="throughput", line={"color": "#34495e"}), at, 1
    )
    fig.add_trace(
        go.Scatter(
            x=t,
            y=series["goodput"],
            name=f"goodput (correct ≤ {goodput_latency_ms:g} ms)",
            line={"color": "#2e9e5b", "dash": "dot"},
        ),
        at,
        1,
    )
    for q, color in ((50, "#7aa6d6"), (95, "#e3a21a"), (99, "#d64541")):
        fig.add_trace(
            go.Scatter(
                x=t, y=series[f"p{q}"], name=f"p{q}", line={"color": color}, connectgaps=False
            ),
            row["latency"],
            1,
        )
    for outcome, color in OUTCOME_COLORS.items():
        fig.add_trace(
            go.Bar(
                x=t, y=series[outcome], name=outcome, marker={"color": color}, width=0.9 * bin_s
            ),
            row["outcomes"],
            1,
        )


def _breakers(
    fig: go.Figure, at: int, exp: ExperimentSummary, samples: pd.DataFrame, bin_s: int = 1
) -> None:
    phases = exp.phases
    breakers = sample_series(samples, "breaker_state", phases.start, phases.end, bin_s)
    for label, group in breakers.groupby("label", sort=True):
        fig.add_trace(
            go.Scatter(
                x=group["t"], y=group["value"], name=f"breaker {label}", line={"shape": "hv"}
            ),
            at,
            1,
        )
    if breakers.empty:
        _note(fig, at, _gap_text(exp, "breaker_state", "no breaker_state samples"))
    fig.update_yaxes(
        tickvals=list(BREAKER_TICKS),
        ticktext=list(BREAKER_TICKS.values()),
        range=[-0.2, 2.2],
        row=at,
        col=1,
    )


def _retries(
    fig: go.Figure,
    at: int,
    exp: ExperimentSummary,
    series: pd.DataFrame,
    increases: pd.DataFrame,
    bin_s: int = 1,
) -> None:
    """Retries per request from requests.csv and, when sampled, from retries_total."""
    t = series["t"] + bin_s / 2
    phases = exp.phases
    gaps = [g.text for m in ("retries", "retries_total") if (g := exp.coverage.gap(m))]
    if exp.coverage.gap("retries") is None:
        fig.add_trace(
            go.Scatter(
                x=t,
                y=series["retries_per_request"],
                name="retries/request (requests.csv)",
                line={"color": "#8e44ad"},
            ),
            at,
            1,
        )
    own = increases[increases["experiment"] == phases.name] if len(increases) else increases
    if len(own):
        sampled = sampled_retries_per_second(own, phases.start, phases.end, len(series), bin_s)
        per_req = sampled.to_numpy() / series["requests"].where(series["requests"] > 0).to_numpy()
        fig.add_trace(
            go.Scatter(
                x=t,
                y=per_req,
                name="retries/request (samples.csv, all dependencies)",
                line={"color": "#8e44ad", "dash": "dot"},
            ),
            at,
            1,
        )
    if gaps:
        _note(fig, at, "<br>".join(gaps))


def _queue(fig: go.Figure, at: int, queue: pd.DataFrame) -> None:
    """Queue depth as the target counted it at each scrape (a bin's largest with ``bin_s`` > 1)."""
    for label, group in queue.groupby("label", sort=True):
        name = "queue depth" + (f" ({label})" if label else "")
        fig.add_trace(
            go.Scatter(
                x=group["t"], y=group["value"], name=name, line={"shape": "hv", "color": "#4a6fa5"}
            ),
            at,
            1,
        )


def _injected(fig: go.Figure, at: int, samples: pd.DataFrame, phases: ExperimentPhases) -> None:
    """Calls changed per second by upstream and fault kind; a shaded span while a fault is set."""
    table = injected_per_second(samples, phases.name, phases.start, phases.end)
    for label in table.columns:
        fig.add_trace(
            go.Bar(
                x=table.index + 0.5,
                y=table[label],
                name=f"injected {label}",
                width=0.9,
                legendgroup="injected",
            ),
            at,
            1,
        )
    spans = active_spans(samples, phases.name, phases.start, phases.end)
    colors = {s.target: _ACTIVE_COLORS[i % len(_ACTIVE_COLORS)] for i, s in enumerate(spans)}
    for span in spans:
        fig.add_vrect(
            x0=span.start,
            x1=span.end,
            row=at,
            col=1,
            fillcolor=colors[span.target],
            opacity=0.18,
            line_width=0,
            layer="below",
            name=f"fault active: {span.target}",
            annotation_text=f"{span.target} set",
            annotation_position="top left",
            annotation_font={"size": 10, "color": colors[span.target]},
        )
    if not len(table.columns):
        _note(fig, at, "the fault proxy changed no call in this experiment")
    fig.update_yaxes(rangemode="tozero", row=at, col=1)


def _proxy_delay(fig: go.Figure, at: int, samples: pd.DataFrame, phases: ExperimentPhases) -> None:
    """The delay the fault proxy added per call, beside the latency it caused."""
    table = added_delay_ms_per_call(samples, phases.name, phases.start, phases.end)
    for label in table.columns:
        fig.add_trace(
            go.Scatter(
                x=table.index + 0.5,
                y=table[label],
                name=f"proxy delay/call {label}",
                line={"color": "#7f8c8d", "dash": "dash"},
                connectgaps=False,
            ),
            at,
            1,
        )


def _phases(fig: go.Figure, exp: ExperimentSummary, row: dict[str, int]) -> None:
    """The fault window shaded on every panel, and the recovery line."""
    phases = exp.phases
    start = phases.start
    if phases.fault_start is None or phases.fault_end is None:
        return
    # One shape over every panel (the x axes are shared), not one per panel: plotly's
    # row="all" costs ~0.1 s per shape and panel.
    fig.add_shape(
        type="rect",
        xref="x",
        yref="paper",
        x0=phases.fault_start - start,
        x1=phases.fault_end - start,
        y0=0,
        y1=1,
        fillcolor="#d64541",
        opacity=0.10,
        line_width=0,
        layer="below",
    )
    first = row["throughput"]
    fig.add_annotation(
        x=phases.fault_start - start,
        y=0.02,
        xref=_axis(first),
        yref=f"{_axis(first, 'y')} domain",
        text=" fault",
        showarrow=False,
        font={"color": "#d64541", "size": 11},
        xanchor="left",
        yanchor="bottom",
    )
    recovery = exp.scopes["all"].values.get("recovery_time_s")
    if exp.scopes["all"].values.get("recovered") and recovery is not None:
        at = phases.fault_end - start + float(recovery)
        fig.add_shape(
            type="line",
            xref="x",
            yref="paper",
            x0=at,
            x1=at,
            y0=0,
            y1=1,
            line={"color": "#2e9e5b", "dash": "dash", "width": 1},
        )
        fig.add_annotation(
            x=at,
            y=0.02,
            xref=_axis(first),
            yref=f"{_axis(first, 'y')} domain",
            text=f" recovered +{float(recovery):g} s",
            showarrow=False,
            font={"color": "#2e9e5b", "size": 11},
            xanchor="left",
            yanchor="bottom",
        )


def _legend_per_row(fig: go.Figure, rows: int) -> None:
    """One legend beside each subplot (plotly's ``legend``, ``legend2``...), not one big one."""
    for trace in fig.data:
        axis = str(trace.yaxis or "y")
        row = int(axis[1:] or 1)
        trace.legend = "legend" if row == 1 else f"legend{row}"
    fig.update_layout(margin={"r": 260}, hovermode="x")
    for row in range(1, rows + 1):
        domain = fig.layout[f"yaxis{'' if row == 1 else row}"].domain
        name = "legend" if row == 1 else f"legend{row}"
        fig.update_layout(
            {
                name: {
                    "x": 1.01,
                    "xanchor": "left",
                    "y": domain[1],
                    "yanchor": "top",
                    "orientation": "v",
                    "font": {"size": 11},
                    "bgcolor": "rgba(255,255,255,0)",
                }
            }
        )


def overview(summary: Summary) -> go.Figure:
    """Success ratio and p95 latency per experiment and phase."""
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("Success ratio by phase", "p95 latency by phase (ms)")
    )
    names = list(summary.experiments)
    for phase in PHASES:
        ratios, p95 = [], []
        for name in names:
            scope = summary.experiments[name].scopes.get(phase)
            ratios.append(scope.values.get("success_ratio") if scope else None)
            p95.append(scope.values.get("latency_p95_ms") if scope else None)
        color = PHASE_COLORS[phase]
        fig.add_trace(go.Bar(x=names, y=ratios, name=phase, marker={"color": color}), 1, 1)
        fig.add_trace(
            go.Bar(x=names, y=p95, name=phase, marker={"color": color}, showlegend=False), 1, 2
        )
    fig.update_yaxes(range=[0, 1.05], tickformat=".0%", row=1, col=1)
    fig.update_layout(barmode="group")
    _layout(fig, 400)
    fig.update_layout(margin={"t": 80}, legend={"y": 1.12, "x": 1.0, "xanchor": "right"})
    return fig
