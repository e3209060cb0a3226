"""``write_report(run_dir, slo_path=None) -> Path``: report.html (self-contained) + summary.json.

``build_report(frames, summary, cases) -> str`` is pure; ``write_report`` is the edge that reads
the run directory (and gate.json or an SLO file) and writes the two files. Plotly's JS is
inlined once in <head> (what ``include_plotlyjs=True`` embeds), so the report opens offline.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from jinja2 import Environment, FileSystemLoader, select_autoescape
from plotly.offline import get_plotlyjs

from reports.catalogue import ALL, PHASES, SLIS, SliParams
from reports.errors import ReportsError
from reports.evaluate import FAIL, VERDICTS, Case, evaluate, exit_code, fmt
from reports.figures import BREAKER_TICKS, experiment_timeline, overview
from reports.firstscreen import RUN, first_screen
from reports.load import RunFrames, load
from reports.measures import counter_increases
from reports.phases import ExperimentPhases
from reports.runs import run_rows, unfinished_runs
from reports.serialize import case_to_dict, dumps, run_facts, summary_to_dict
from reports.slis import ExperimentSummary, ScopeSlis, Summary, Value, summarize
from reports.slo import load_slo
from reports.timeseries import bin_width
from stampede.rundir.safe import write_atomic
from stampede.yamlinput import read_json

TEMPLATES = Path(__file__).parent / "templates"
_PLOT_CONFIG = {"displaylogo": False, "responsive": True}


def display(value: Value, unit: str) -> str:
    """A value for people: percentages, thousands separators, units."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    v = float(value)
    if unit == "ratio":
        return f"{v:.2%}"
    if unit == "ms":
        return f"{v:,.1f} ms"
    if unit == "s":
        return f"{v:,.1f} s"
    if unit == "req/s":
        return f"{v:,.2f}/s"
    if unit == "USD":
        return f"${v:.6f}"
    if unit == "x":
        return f"{v:.2f}×"  # noqa: RUF001
    if unit == "state":
        return BREAKER_TICKS.get(round(v), f"{v:g}")
    if unit in ("count", "replicas"):
        return f"{v:,.0f}"
    if unit == "tokens":
        return f"{v:,.0f}"
    return f"{v:,.3f}"


def _time(ts: float | None) -> str:
    if ts is None:
        return "—"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "x"


def _fmt(value: Any) -> str:
    """``evaluate.fmt`` for numbers; text as it is (a gate case may carry a non-numeric value)."""
    if value is None or isinstance(value, bool | int | float):
        return fmt(value)
    return str(value)


def _anchor(experiment: str) -> str:
    """The id of an experiment's section (``run``: the whole-run SLIs)."""
    return "run-slis" if experiment == RUN else f"exp-{_slug(experiment)}"


def _figure_html(fig: go.Figure, div_id: str) -> str:
    height = fig.layout.height or 400
    return str(
        fig.to_html(
            full_html=False,
            include_plotlyjs=False,
            config=_PLOT_CONFIG,
            div_id=div_id,
            default_height=f"{height}px",
        )
    )


def _sli_rows(scopes: list[ScopeSlis | None]) -> list[dict[str, Any]]:
    rows = []
    for name, spec in SLIS.items():
        cells: list[dict[str, Any]] = []
        for scope in scopes:
            if scope is None:
                cells.append({"text": "—", "title": "no such phase", "null": True})
                continue
            value = scope.values.get(name)
            gap = scope.unmeasured.get(name) if value is None else None
            shown = gap.split(":", 1)[0] if gap else display(value, spec.unit)
            cells.append(
                {
                    "text": shown,
                    "title": scope.reasons.get(name, "") if value is None else repr(value),
                    "null": value is None,
                }
            )
        if all(c["null"] and "not defined" in c["title"] for c in cells):
            continue
        rows.append({"name": name, "unit": spec.unit, "doc": spec.description, "cells": cells})
    return rows


def _trial_rows(scopes: list[tuple[str, ScopeSlis | None]]) -> list[dict[str, Any]]:
    """The pass^k table: one row per scope; empty when no scope has a trial group."""
    rows = []
    for label, scope in scopes:
        stats = scope.trials if scope is not None else None
        if stats is None:
            continue
        rows.append(
            {
                "scope": label,
                "k": ", ".join(str(k) for k in stats.repeats) or "—",
                "trials": stats.trials,
                "incomplete": stats.incomplete,
                "why": stats.why,
                **{
                    name: display(getattr(stats, name), "ratio")
                    for name in ("pass_hat_k", "pass_at_k", "consistency")
                },
            }
        )
    if not any(r["trials"] or r["incomplete"] for r in rows):
        return []
    return rows


def _probes(state: Any) -> dict[str, Any] | None:
    if not state:
        return None
    met, probes = state
    return {"met": met, "probes": [dataclasses.asdict(p) for p in probes]}


def _phase_windows(phases: ExperimentPhases) -> list[dict[str, Any]]:
    return [
        {"phase": p, "start": start - phases.start, "end": end - phases.start, "len": end - start}
        for p, (start, end) in phases.windows().items()
    ]


def _kpis(exp: ExperimentSummary) -> list[dict[str, Any]]:
    whole = exp.scopes[ALL]
    fault = exp.scopes.get("fault", whole)
    recovered = whole.values.get("recovered")
    recovery = display(whole.values.get("recovery_time_s"), "s")
    return [
        {"label": "success in fault", "value": display(fault.values.get("success_ratio"), "ratio")},
        {"label": "p95 in fault", "value": display(fault.values.get("latency_p95_ms"), "ms")},
        {
            "label": "recovery time",
            "value": "not recovered" if recovered is False else recovery,
            "bad": str(recovered is False),
        },
        {
            "label": "cost amplification",
            "value": display(whole.values.get("cost_amplification"), "x"),
        },
        {
            "label": "retries / request (fault)",
            "value": display(fault.values.get("retries_per_request"), "retries"),
        },
        {
            "label": "wrong answers",
            "value": display(whole.values.get("wrong_ratio"), "ratio"),
            "bad": str(bool(whole.values.get("wrong_ratio"))),
        },
    ]


def _violations_first(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """FAIL cases first (stable), each objective's description on its first row only."""
    ordered = sorted(cases, key=lambda c: c.get("verdict") != FAIL)
    seen: set[Any] = set()
    out = []
    for case in ordered:
        key = case.get("objective")
        out.append({**case, "first": key not in seen})
        seen.add(key)
    return out


def build_report(
    frames: RunFrames,
    summary: Summary,
    slo_cases: list[dict[str, Any]] | None = None,
    slo_source: str = "",
) -> str:
    """The whole report as one HTML string (pure)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = _fmt
    increases = counter_increases(frames.samples, "retries_total")
    total_s = sum(e.phases.end - e.phases.start for e in summary.experiments.values())
    bin_s = bin_width(total_s)
    experiments = []
    runs = run_rows(frames.requests)  # once: the 10M-row frame is not scanned per experiment
    for name, exp in summary.experiments.items():
        phases = exp.phases
        columns = [ALL, *phases.phase_names]
        fig = experiment_timeline(
            exp,
            frames.requests,
            frames.samples,
            increases,
            summary.params.goodput_latency_ms,
            bin_s,
        )
        journal = phases.journal
        unfinished, more = unfinished_runs(runs, name, phases.start)
        experiments.append(
            {
                "name": name,
                "anchor": _anchor(name),
                "start": _time(phases.start),
                "end": _time(phases.end),
                "duration": phases.end - phases.start,
                "windows": _phase_windows(phases),
                "columns": columns,
                "rows": _sli_rows([exp.scopes.get(c) for c in columns]),
                "trials": _trial_rows([(c, exp.scopes.get(c)) for c in columns]),
                "kpis": _kpis(exp),
                "notes": phases.notes,
                "gaps": [g.text for _, g in sorted(exp.coverage.gaps.items())],
                "unfinished": unfinished,
                "unfinished_more": more,
                "journal": journal,
                "before": _probes(journal.before) if journal else None,
                "after": _probes(journal.after) if journal else None,
                "breakers": exp.scopes[ALL].breakers,
                "figure": _figure_html(fig, f"chart-{_slug(name)}"),
                "record": frames.experiment(name),
            }
        )
    cases = _violations_first(slo_cases or [])
    counts = {v: sum(c["verdict"] == v for c in cases) for v in VERDICTS}
    screen = first_screen(slo_cases or [], list(summary.experiments), _anchor)
    template = env.get_template("report.html.j2")
    return template.render(
        facts=run_facts(frames),
        started=_time(frames.started_at),
        ended=_time(frames.ended_at),
        generated=_time(datetime.now(UTC).timestamp()),
        params=dataclasses.asdict(summary.params),
        notes=summary.notes,
        run_rows=_sli_rows([summary.run]),
        run_trials=_trial_rows([("run", summary.run)]),
        overview=_figure_html(overview(summary), "chart-overview") if experiments else "",
        experiments=experiments,
        slo=cases,
        slo_counts=counts,
        slo_verdict=(FAIL if counts[FAIL] else "PASS") if cases else None,
        slo_source=slo_source,
        screen=screen,
        anchors={c: _anchor(c) for c in screen["matrix"]["columns"]},
        plotlyjs=get_plotlyjs(),
        phases=PHASES,
    )


def _gate_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    data = read_json(path, ReportsError)
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise ReportsError(f"{path}: expected an object with a 'cases' list (written by the gate)")
    return data


def _params(data: dict[str, Any] | None) -> SliParams:
    raw = (data or {}).get("params")
    if not isinstance(raw, dict):
        return SliParams()
    names = {f.name for f in dataclasses.fields(SliParams)}
    try:
        return SliParams(**{k: v for k, v in raw.items() if k in names})
    except TypeError:
        return SliParams()


def write_report(
    run_dir: Path | str,
    slo_path: Path | str | None = None,
    *,
    out: Path | str | None = None,
    summary_out: Path | str | None = None,
) -> Path:
    """Write ``report.html`` and ``summary.json`` into the run directory; return the report path.

    With ``slo_path`` the SLO table is evaluated now (and its params drive the SLIs); without it
    the table comes from ``gate.json`` when the gate already ran.
    """
    run_dir = Path(run_dir)
    slo = load_slo(slo_path) if slo_path else None
    frames = load(run_dir)
    gate = None if slo else _gate_json(run_dir / "gate.json")
    summary = summarize(frames, slo.params if slo else _params(gate))
    cases: list[dict[str, Any]] | None = None
    source = ""
    if slo is not None:
        evaluated: list[Case] = evaluate(summary, slo)
        cases = [case_to_dict(c) for c in evaluated]
        source = f"{slo_path} (evaluated now, exit code {exit_code(evaluated)})"
    elif gate is not None:
        cases = [c for c in gate["cases"] if isinstance(c, dict) and c.get("verdict") in VERDICTS]
        source = f"gate.json (SLO file {gate.get('slo_file', '?')})"
    html = build_report(frames, summary, cases, source)
    report = Path(out) if out else run_dir / "report.html"
    summary_path = Path(summary_out) if summary_out else run_dir / "summary.json"
    try:
        report.parent.mkdir(parents=True, exist_ok=True)
        summary_path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(summary_path, dumps(summary_to_dict(summary, frames)))
        write_atomic(report, html)
    except OSError as exc:
        raise ReportsError(f"{exc.filename or report}: cannot write: {exc.strerror}") from exc
    return report
