"""Plotly figures of the report (pure: frames in, figures out)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from reports.catalogue import PHASES
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


def experiment_timeline(
    exp: ExperimentSummary,
    requests: pd.DataFrame,
    samples: pd.DataFrame,
    increases: pd.DataFrame,
    goodput_latency_ms: float,
) -> go.Figure:
    """Throughput, latency, outcome mix, breaker states and retries per second, fault shaded."""
    phases = exp.phases
    start, end = phases.start, phases.end
    rows = requests[requests["experiment"] == phases.name]
    series = per_second(rows, start, end, goodput_latency_ms)
    t = series["t"] + 0.5
    fig = make_subplots(
        rows=5,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.045,
        subplot_titles=(
            "Throughput (req/s)",
            "Latency per second (ms, nearest-rank over that second's requests)",
            "Outcome mix (requests per second)",
            "Circuit breaker state per dependency",
            "Retries per request",
        ),
    )
    fig.add_trace(
        go.Scatter(x=t, y=series["requests"], name="throughput", line={"color": "#34495e"}), 1, 1
    )
    fig.add_trace(
        go.Scatter(
            x=t,
            y=series["goodput"],
            name=f"goodput (correct ≤ {goodput_latency_ms:g} ms)",
            line={"color": "#2e9e5b", "dash": "dot"},
        ),
        1,
        1,
    )
    for q, color in ((50, "#7aa6d6"), (95, "#e3a21a"), (99, "#d64541")):
        fig.add_trace(
            go.Scatter(
                x=t, y=series[f"p{q}"], name=f"p{q}", line={"color": color}, connectgaps=False
            ),
            2,
            1,
        )
    for outcome, color in OUTCOME_COLORS.items():
        fig.add_trace(
            go.Bar(x=t, y=series[outcome], name=outcome, marker={"color": color}, width=0.9),
            3,
            1,
        )
    breakers = sample_series(samples, "breaker_state", start, end)
    for label, group in breakers.groupby("label", sort=True):
        fig.add_trace(
            go.Scatter(
                x=group["t"], y=group["value"], name=f"breaker {label}", line={"shape": "hv"}
            ),
            4,
            1,
        )
    if breakers.empty:
        fig.add_annotation(
            text="no breaker_state samples",
            x=0.5,
            y=0.5,
            xref="x4 domain",
            yref="y4 domain",
            showarrow=False,
            font={"color": "#7f8c9d"},
        )
    fig.add_trace(
        go.Scatter(
            x=t,
            y=series["retries_per_request"],
            name="retries/request (requests.csv)",
            line={"color": "#8e44ad"},
        ),
        5,
        1,
    )
    sampled = sampled_retries_per_second(increases, start, end, len(series))
    if len(increases):
        per_req = sampled.to_numpy() / series["requests"].where(series["requests"] > 0).to_numpy()
        fig.add_trace(
            go.Scatter(
                x=t,
                y=per_req,
                name="retries/request (samples.csv, all dependencies)",
                line={"color": "#8e44ad", "dash": "dot"},
            ),
            5,
            1,
        )
    if phases.fault_start is not None and phases.fault_end is not None:
        fig.add_vrect(
            x0=phases.fault_start - start,
            x1=phases.fault_end - start,
            row="all",
            col=1,
            fillcolor="#d64541",
            opacity=0.10,
            line_width=0,
            layer="below",
        )
        fig.add_annotation(
            x=phases.fault_start - start,
            y=0.02,
            xref="x",
            yref="y domain",
            text=" fault",
            showarrow=False,
            font={"color": "#d64541", "size": 11},
            xanchor="left",
            yanchor="bottom",
        )
        recovery = exp.scopes["all"].values.get("recovery_time_s")
        if exp.scopes["all"].values.get("recovered") and recovery is not None:
            at = phases.fault_end - start + float(recovery)
            fig.add_vline(
                x=at, row="all", col=1, line={"color": "#2e9e5b", "dash": "dash", "width": 1}
            )
            fig.add_annotation(
                x=at,
                y=0.02,
                xref="x",
                yref="y domain",
                text=f" recovered +{float(recovery):g} s",
                showarrow=False,
                font={"color": "#2e9e5b", "size": 11},
                xanchor="left",
                yanchor="bottom",
            )
    fig.update_yaxes(
        tickvals=list(BREAKER_TICKS),
        ticktext=list(BREAKER_TICKS.values()),
        range=[-0.2, 2.2],
        row=4,
        col=1,
    )
    fig.update_yaxes(rangemode="tozero", row=1, col=1)
    fig.update_yaxes(rangemode="tozero", row=2, col=1)
    fig.update_yaxes(rangemode="tozero", row=5, col=1)
    fig.update_xaxes(title_text="seconds since experiment start", row=5, col=1)
    fig.update_layout(barmode="stack", bargap=0)
    _layout(fig, 1150)
    _legend_per_row(fig, 5)
    return fig


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
