"""Absent metrics and figures a target cannot count: named in the report, N/A in the gate, never 0;
the fault proxy's rows drawn on the timeline (what was injected when)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import pytest

from reports.evaluate import FAIL, NA, PASS, evaluate, exit_code
from reports.figures import experiment_timeline
from reports.injected import active_spans, injected_per_second
from reports.load import load
from reports.measures import counter_increases
from reports.render import write_report
from reports.slis import Summary, summarize
from reports.slo import parse_slo
from tests.reports.rundir import (
    T0,
    Exp,
    demo_run,
    journal,
    proxy_rows,
    req,
    sampler_record,
    source,
    write_run,
)

NAME = "llm-errors"
FAULT = (T0 + 10, T0 + 20)
HELPDESK_MAP_NAME = "examples/helpdesk/profile.yaml"
HELPDESK_MAP = {
    "name": HELPDESK_MAP_NAME,
    "metrics": {
        "breaker_state": {"series": "helpdesk_breaker_open", "fold": "max", "label": "dep"},
        "in_flight": {"series": "helpdesk_inflight", "fold": "sum"},
    },
}
NOT_MEASURED = {
    "replicas": "target url counts no replicas (Deployments and HPAs: kind only)",
    "workers_alive": "target url does not count the agent's worker processes",
    "lost_investigations": "target url offers no look-up of stored answers to read records back",
}


def _byo_run(
    run_dir: Path,
    *,
    agent: dict[str, Any] | None = None,
    requests: list[dict[str, Any]] | None = None,
) -> Path:
    """A url-target run: breaker_state absent, no replicas nor lost records, proxy rows."""
    method = [("inject", FAULT[0], FAULT[0] + 0.2), ("clear", FAULT[1] - 0.2, FAULT[1])]
    agent = agent or source("agent", HELPDESK_MAP_NAME, ["breaker_state"])
    sampler = sampler_record(
        absent=["breaker_state"],
        unmapped=["shed_total", "write_behind_depth"],
        sources=[agent, source("proxy", "proxy")],
    )
    exp = Exp(
        NAME,
        T0,
        T0 + 30,
        journal(T0, T0 + 30, method),
        checks={
            "lost_investigations": None,
            "method": "not measured: target url cannot read stored answers back",
        },
        sampler=sampler,
    )
    rows = requests or [req(T0 + s / 2, experiment=NAME) for s in range(60)]
    samples = proxy_rows(NAME, T0, T0 + 30, FAULT)
    samples += [
        dict(ts=T0 + s, experiment=NAME, metric="in_flight", label="", value=2) for s in range(31)
    ]
    stack = {"action": "reused", "capabilities": {}, "not_measured": NOT_MEASURED}
    return write_run(
        run_dir, [exp], rows, samples, stack=stack, config={"metric_map": HELPDESK_MAP}
    )


@pytest.fixture
def byo(tmp_path: Path) -> Path:
    return _byo_run(tmp_path / "run")


def _timeline(summary: Summary, run_dir: Path) -> go.Figure:
    frames = load(run_dir)
    increases = counter_increases(frames.samples, "retries_total")
    return experiment_timeline(
        summary.experiments[NAME], frames.requests, frames.samples, increases, 2000.0
    )


def test_report_names_the_absent_metric_instead_of_an_empty_chart(byo: Path) -> None:
    summary = summarize(load(byo))
    fig = _timeline(summary, byo)
    notes = [a.text for a in fig.layout.annotations if a.name == "gap"]
    assert notes == ["absent: breaker_state (the target exposes no helpdesk_breaker_open)"]
    html = write_report(byo).read_text(encoding="utf-8")
    assert "absent: breaker_state (the target exposes no helpdesk_breaker_open)" in html
    assert "no breaker_state samples" not in html
    assert "not measured: target url counts no replicas" in html


def test_timeline_draws_faults_injected_per_second_and_active_spans(byo: Path) -> None:
    """From the cumulative counter: 3 calls changed in each of seconds 11..20, none elsewhere."""
    summary = summarize(load(byo))
    fig = _timeline(summary, byo)
    assert fig.layout.annotations[0].text.startswith("Faults injected by the fault proxy")
    injected = [t for t in fig.data if str(t.name).startswith("injected ")]
    assert [t.name for t in injected] == ["injected llm:error"]  # latency stayed 0: not drawn
    assert injected[0].yaxis == "y"  # the first panel, above throughput
    per_second = dict(zip(injected[0].x, injected[0].y, strict=True))
    assert {t - 0.5: v for t, v in per_second.items() if v} == {s: 3.0 for s in range(11, 21)}
    spans = [s for s in fig.layout.shapes if s.name == "fault active: llm"]
    assert [(s.x0, s.x1, s.yref) for s in spans] == [(10.0, 20.0, "y domain")]
    html = write_report(byo).read_text(encoding="utf-8")
    assert '"name":"injected llm:error"' in html  # the figure JSON in report.html


def test_no_proxy_rows_leave_the_timeline_as_it_was(tmp_path: Path) -> None:
    """The local toolbox (no proxy): five panels, no injected trace, no span."""
    run = demo_run(tmp_path / "run")
    summary = summarize(load(run))
    frames = load(run)
    increases = counter_increases(frames.samples, "retries_total")
    fig = experiment_timeline(
        summary.experiments["tool-latency"], frames.requests, frames.samples, increases, 2000.0
    )
    titles = [a.text for a in fig.layout.annotations if a.name is None and a.xref == "paper"]
    assert len(titles) == 5 and titles[0] == "Throughput (req/s)"
    assert not [t for t in fig.data if str(t.name).startswith("injected")]
    assert not [s for s in fig.layout.shapes if str(s.name).startswith("fault active")]
    assert not summary.experiments["tool-latency"].coverage.gaps


def test_gate_says_na_with_the_reason_for_a_not_measured_sli(byo: Path) -> None:
    summary = summarize(load(byo))
    slo = parse_slo(
        "objectives:\n"
        "  - {sli: max_replicas, op: '<=', threshold: 3, scope: {experiment: '*'}}\n"
        "  - {sli: lost_investigations, op: '==', threshold: 0, scope: {experiment: '*'}}\n"
        "  - {name: lost-run, sli: lost_investigations, op: '==', threshold: 0}\n"
        "  - {sli: max_breaker_state, op: '<', threshold: 2, scope: {phase: fault}}\n"
        "  - {sli: success_ratio, op: '>=', threshold: 0.99, scope: {phase: fault}}\n"
    )
    cases = evaluate(summary, slo)
    got = [(f"{c.objective.sli} {c.scope_label}", c.verdict, c.value) for c in cases]
    assert got == [
        ("max_replicas llm-errors/all", NA, None),
        ("lost_investigations llm-errors/all", NA, None),
        ("lost_investigations run", NA, None),
        ("max_breaker_state llm-errors/fault", NA, None),
        ("success_ratio llm-errors/fault", PASS, 1.0),
    ]
    assert cases[0].message == (
        "max_replicas in llm-errors/all: not measured: target url counts no replicas "
        "(Deployments and HPAs: kind only)"
    )
    assert "target url offers no look-up of stored answers" in cases[1].message
    assert cases[3].message == (
        "max_breaker_state in llm-errors/fault: absent: breaker_state "
        "(the target exposes no helpdesk_breaker_open)"
    )
    assert exit_code(cases) == 0
    write_report(byo)
    data = json.loads((byo / "summary.json").read_text())
    fault = data["scopes"]["experiments"][NAME]["scopes"]["fault"]
    assert fault["slis"]["max_breaker_state"] is None
    assert fault["not_measured"]["max_breaker_state"].startswith("absent: breaker_state")
    gaps = data["scopes"]["experiments"][NAME]["gaps"]
    assert gaps["replicas"]["kind"] == "not measured" and gaps["breaker_state"]["kind"] == "absent"


def test_a_metric_absent_because_no_scrape_answered_is_missing_not_na(tmp_path: Path) -> None:
    """The agent's /metrics never answered: the gate cannot call that not applicable."""
    dead = source("agent", HELPDESK_MAP_NAME, ["breaker_state"], failures=30)
    summary = summarize(load(_byo_run(tmp_path / "run", agent=dead)))
    slo = parse_slo("objectives:\n  - {sli: max_breaker_state, op: '<', threshold: 2}\n")
    (case,) = evaluate(summary, slo)
    assert case.verdict == FAIL
    assert "no scrape of agent answered; last error: ConnectError: refused" in case.message


def test_empty_request_columns_are_not_measured_not_zero(tmp_path: Path) -> None:
    """A profile that reads no retries, tokens nor cost: those SLIs are N/A, not 0 retries."""
    rows = [req(T0 + s / 2, experiment=NAME) for s in range(60)]
    for row in rows:
        row.update(retries="", tokens="", cost_usd="")
    summary = summarize(load(_byo_run(tmp_path / "run", requests=rows)))
    fault = summary.experiments[NAME].scopes["fault"]
    for sli in ("retries_per_request", "tokens_per_success", "cost_per_success_usd"):
        assert fault.values[sli] is None
        assert fault.unmeasured[sli].startswith("not measured: requests.csv has no ")
    slo = parse_slo("objectives:\n  - {sli: retries_per_request, op: '<=', threshold: 1}\n")
    (case,) = evaluate(summary, slo)
    assert (case.verdict, case.value) == (NA, None)
    assert "requests.csv has no retries value" in case.message


def test_active_spans_and_injections_from_raw_rows() -> None:
    """A span still open at the last sample ends there; a counter reset counts its new value."""
    rows = [
        (T0 + 0, "fault_active", "proxy:tool:get_logs", 0.0),
        (T0 + 1, "fault_active", "proxy:tool:get_logs", 1.0),
        (T0 + 2, "fault_active", "proxy:tool:get_logs", 1.0),
        (T0 + 0, "faults_injected_total", "proxy:tool:get_logs:latency", 5.0),
        (T0 + 1, "faults_injected_total", "proxy:tool:get_logs:latency", 7.0),
        (T0 + 2, "faults_injected_total", "proxy:tool:get_logs:latency", 2.0),  # restarted
    ]
    samples = pd.DataFrame(rows, columns=["ts", "metric", "label", "value"]).assign(experiment="e")
    (span,) = active_spans(samples, "e", T0, T0 + 3)
    assert (span.target, span.start, span.end, span.open_end) == ("tool:get_logs", 1.0, 2.0, True)
    table = injected_per_second(samples, "e", T0, T0 + 3)
    assert list(table.columns) == ["tool:get_logs:latency"]
    assert table["tool:get_logs:latency"].tolist() == [0.0, 2.0, 2.0]


def test_sampled_queue_depth_adds_a_panel_unless_it_is_flat_zero(tmp_path: Path) -> None:
    """queue_depth rows (agent_jobs_open) in samples.csv: a sixth panel, the values as sampled;
    all zero, in an experiment without asynchronous runs, no panel."""
    run = demo_run(tmp_path / "run")
    frames = load(run)
    exp = summarize(frames).experiments["tool-latency"]
    start = exp.phases.start
    depth = pd.DataFrame(
        {
            "ts": [start + 1, start + 2, start + 3],
            "experiment": "tool-latency",
            "metric": "queue_depth",
            "label": "",
            "value": [0.0, 7.0, 2.0],
        }
    )
    samples = pd.concat([frames.samples, depth], ignore_index=True)
    increases = counter_increases(samples, "retries_total")
    fig = experiment_timeline(exp, frames.requests, samples, increases, 2000.0)
    titles = [a.text for a in fig.layout.annotations if a.name is None and a.xref == "paper"]
    assert len(titles) == 6 and titles[-1].startswith("Queue depth")
    (trace,) = [t for t in fig.data if t.name == "queue depth"]
    assert list(trace.y) == [0.0, 7.0, 2.0] and list(trace.x) == [1.0, 2.0, 3.0]
    assert trace.yaxis == "y6"  # the last panel
    depth["value"] = 0.0
    flat = pd.concat([frames.samples, depth], ignore_index=True)
    fig = experiment_timeline(exp, frames.requests, flat, increases, 2000.0)
    assert not [t for t in fig.data if t.name == "queue depth"]
    assert len([a for a in fig.layout.annotations if a.name is None and a.xref == "paper"]) == 5
    requests = frames.requests.copy()
    mine = (requests["experiment"] == "tool-latency").to_numpy().nonzero()[0][0]
    names = requests["name"].astype(str)
    names.iloc[mine] = "investigation [async]"  # one asynchronous run: a flat 0 is news
    requests["name"] = names
    fig = experiment_timeline(exp, requests, flat, increases, 2000.0)
    assert [list(t.y) for t in fig.data if t.name == "queue depth"] == [[0.0, 0.0, 0.0]]
