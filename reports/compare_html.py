"""``stampede compare A B --html OUT``: a self-contained diff report of two run directories.

Every SLI of every scope both runs have (``summary.json``), A, B, the delta and its status:

* ``regression`` / ``improvement``: outside the tolerance of ``stampede.compare`` (the ones the
  exit code counts) and worse / better in B, by the SLI's direction (``compare.BETTER``);
* ``outside``: outside tolerance, an SLI with no better direction (a count, a duration);
* ``worse`` / ``better`` / ``changed``: a difference on an SLI without a tolerance (shown, not
  counted); ``within`` / ``same``.

Below, per experiment both runs have, the two timelines overlaid (throughput, p95, success ratio
per second, from each run's raw rows; A solid, B dashed; each run's fault window shaded).
Plotly's JS is inlined once, as in report.html, so the file opens offline.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from jinja2 import Environment, FileSystemLoader, select_autoescape
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from reports.catalogue import SLIS, SliParams
from reports.load import RunFrames, load
from reports.render import display
from reports.timeseries import bin_width, per_second
from stampede.compare import BETTER, scopes

TEMPLATES = Path(__file__).parent / "templates"
COUNTED = ("regression", "improvement", "outside")
_A, _B = "#34495e", "#d64541"


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _status(sli: str, a: Any, b: Any, outside: bool, toleranced: bool) -> str:
    if a == b:
        return "same"
    direction = BETTER.get(sli, 0)
    na, nb = _number(a), _number(b)
    if isinstance(a, bool) or isinstance(b, bool):
        worse = (b is False or b is None) if direction > 0 else None
    elif na is None or nb is None:
        worse = nb is None if direction else None  # a value lost is worse, one gained better
    else:
        worse = (nb - na) * direction < 0 if direction else None
    if toleranced:
        if not outside:
            return "within"
        if worse is None:
            return "outside"
        return "regression" if worse else "improvement"
    if worse is None:
        return "changed"
    return "worse" if worse else "better"


def diff_rows(
    a: Mapping[str, Any], b: Mapping[str, Any], result: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """One group per scope (run, then each experiment's scopes in A's order): every SLI."""
    sa, sb = scopes(a), scopes(b)
    outside = {(r["scope"], r["sli"]) for r in result.get("outside", [])}
    tolerances = result.get("tolerances", {})
    groups = []
    for label in [s for s in sa if s in sb]:
        rows = []
        names = [*SLIS, *sorted((set(sa[label]) | set(sb[label])) - set(SLIS))]
        for sli in names:
            va, vb = sa[label].get(sli), sb[label].get(sli)
            if va is None and vb is None:
                continue
            unit = SLIS[sli].unit if sli in SLIS else ""
            na, nb = _number(va), _number(vb)
            delta = nb - na if na is not None and nb is not None else None
            status = _status(sli, va, vb, (label, sli) in outside, sli in tolerances)
            rows.append(
                {
                    "sli": sli,
                    "a": display(va, unit),
                    "b": display(vb, unit),
                    "a_raw": repr(va),
                    "b_raw": repr(vb),
                    "delta": "—" if delta is None else f"{delta:+.4g}",
                    "rel": "" if delta is None or not na else f"{delta / abs(na):+.1%}",
                    "status": status,
                    "tolerance": tolerances.get(sli),
                }
            )
        counted = sum(r["status"] == "regression" for r in rows)
        groups.append({"scope": label, "rows": rows, "regressions": counted})
    return groups


def _window(summary: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    body = ((summary.get("scopes") or {}).get("experiments") or {}).get(name)
    if not isinstance(body, Mapping):
        return None
    window = (body.get("windows") or {}).get("all")
    if not window:
        return None
    return {"start": float(window[0]), "end": float(window[1]), **body}


def overlay(
    name: str,
    runs: list[tuple[str, RunFrames, dict[str, Any]]],
    params: SliParams,
    bin_s: int,
) -> go.Figure:
    """Throughput, p95 and success ratio of one experiment in both runs, on one time axis."""
    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.07,
        subplot_titles=("Throughput (req/s)", "p95 latency (ms)", "Success ratio"),
    )
    for (label, frames, window), color in zip(runs, (_A, _B), strict=True):
        rows = frames.requests[frames.requests["experiment"] == name]
        series = per_second(rows, window["start"], window["end"], params.goodput_latency_ms, bin_s)
        t = series["t"] + bin_s / 2
        dash = "solid" if color == _A else "dash"
        for row, column in ((1, "requests"), (2, "p95"), (3, "success_ratio")):
            fig.add_trace(
                go.Scatter(
                    x=t,
                    y=series[column],
                    name=f"{label} {column}",
                    line={"color": color, "dash": dash},
                    legendgroup=label,
                    connectgaps=False,
                ),
                row,
                1,
            )
        start, end = window.get("fault_start"), window.get("fault_end")
        if start is not None and end is not None:
            fig.add_shape(
                type="rect",
                xref="x",
                yref="paper",
                x0=float(start) - window["start"],
                x1=float(end) - window["start"],
                y0=0,
                y1=1,
                fillcolor=color,
                opacity=0.08,
                line_width=0,
                layer="below",
            )
    fig.update_yaxes(rangemode="tozero", row=1, col=1)
    fig.update_yaxes(rangemode="tozero", row=2, col=1)
    fig.update_yaxes(range=[0, 1.05], tickformat=".0%", row=3, col=1)
    fig.update_xaxes(title_text="seconds since experiment start", row=3, col=1)
    fig.update_layout(
        template="plotly_white",
        height=640,
        margin={"l": 70, "r": 20, "t": 50, "b": 40},
        legend={"orientation": "h", "y": 1.08, "x": 0},
        hovermode="x unified",
    )
    return fig


def build_compare_html(
    a_dir: Path,
    b_dir: Path,
    a: Mapping[str, Any],
    b: Mapping[str, Any],
    result: Mapping[str, Any],
    frames: tuple[RunFrames, RunFrames] | None = None,
) -> str:
    """The whole diff report as one HTML string (pure; ``frames`` give the timelines)."""
    groups = diff_rows(a, b, result)
    charts = []
    if frames is not None:
        names = [n for n in (a.get("scopes", {}).get("experiments") or {}) if _window(b, n)]
        windows = [(n, _window(a, n), _window(b, n)) for n in names]
        total = sum(w["end"] - w["start"] for _, wa, wb in windows for w in (wa, wb) if w)
        bin_s = bin_width(total)
        goodput = (a.get("params") or {}).get("goodput_latency_ms", 2000)
        params = SliParams(goodput_latency_ms=float(goodput))
        for i, (name, wa, wb) in enumerate(windows):
            if wa is None or wb is None:
                continue
            fig = overlay(name, [("A", frames[0], wa), ("B", frames[1], wb)], params, bin_s)
            charts.append(
                {
                    "name": name,
                    "html": fig.to_html(
                        full_html=False,
                        include_plotlyjs=False,
                        div_id=f"overlay-{i}",
                        config={"displaylogo": False, "responsive": True},
                    ),
                }
            )
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    regressions = [
        {"scope": g["scope"], **r} for g in groups for r in g["rows"] if r["status"] in COUNTED
    ]
    return env.get_template("compare.html.j2").render(
        a_dir=str(a_dir),
        b_dir=str(b_dir),
        a_id=(a.get("run") or {}).get("run_id") or a_dir.name,
        b_id=(b.get("run") or {}).get("run_id") or b_dir.name,
        result=result,
        groups=groups,
        flagged=regressions,
        n_regressions=sum(r["status"] == "regression" for r in regressions),
        charts=charts,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        plotlyjs=get_plotlyjs() if charts else "",
    )


def compare_html(
    a_dir: Path, b_dir: Path, a: Mapping[str, Any], b: Mapping[str, Any], result: Mapping[str, Any]
) -> str:
    """Read both run directories' rows (for the timelines) and return the diff report."""
    return build_compare_html(a_dir, b_dir, a, b, result, (load(a_dir), load(b_dir)))
