"""report.html and summary.json: self-contained, complete, and rendering in a real browser."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from reports.gate import run_gate
from reports.load import load
from reports.render import write_report
from reports.slis import summarize
from tests.reports import browser
from tests.reports.rundir import T0, Exp, demo_run, journal, req, write_run

REPO = Path(__file__).resolve().parents[2]
CHART_FACTS = """(() => {
  const plots = [...document.querySelectorAll('.js-plotly-plot')];
  return {
    plotly: window.Plotly ? Plotly.version : null,
    ids: plots.map(p => p.id),
    svgs: plots.map(p => p.querySelectorAll('svg.main-svg').length),
    traces: plots.map(p => p.querySelectorAll('g.trace').length),
    shapes: plots.map(p => p.querySelectorAll('.shapelayer path').length),
    sloRows: document.querySelectorAll('#slo tbody tr').length,
    sections: document.querySelectorAll('section.experiment').length,
  };
})()"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The three-experiment demo run, gated with the default slo.yaml, then reported."""
    run = demo_run(tmp_path_factory.mktemp("demo") / "run")
    run_gate(run, REPO / "slo.yaml")
    write_report(run)
    return run


def test_report_is_self_contained(demo: Path) -> None:
    html = (demo / "report.html").read_text(encoding="utf-8")
    assert len(html) > 3_000_000  # plotly.js inlined
    assert html.count("* plotly.js v") == 1  # inlined once, not per chart
    assert re.search(r"<script[^>]+src=", html) is None  # nothing fetched: opens offline
    assert re.search(r"<link[^>]+href=", html) is None
    assert html.count('class="plotly-graph-div"') == 4  # overview + one timeline per experiment
    for name in ("replica-kill", "tool-latency", "redis-outage"):
        assert f'id="exp-{name}"' in html
    assert "Service level objectives" in html  # from gate.json


def test_summary_json_holds_every_sli_per_scope(demo: Path) -> None:
    data = json.loads((demo / "summary.json").read_text())
    summary = summarize(load(demo))
    exp = data["scopes"]["experiments"]["replica-kill"]
    assert exp["phases"] == ["baseline", "fault", "recovery"]
    assert set(exp["scopes"]) == {"all", "baseline", "fault", "recovery"}
    fault = exp["scopes"]["fault"]["slis"]
    assert fault == summary.experiments["replica-kill"].scopes["fault"].values
    assert data["scopes"]["run"]["slis"]["requests"] == 900
    assert data["run"]["run_id"] == "run" and data["run"]["git_sha"] == "0123abc"
    assert exp["deviated"] is False
    assert data["scopes"]["experiments"]["redis-outage"]["deviated"] is True
    assert "cost_amplification_vs_baseline_experiment" in exp["scopes"]["fault"]["null_reasons"]


def test_report_without_gate_has_no_slo_section_and_handles_edge_cases(tmp_path: Path) -> None:
    """No journal, an empty phase, no samples, zero successes: a report, not a crash."""
    method = [("inject", T0, T0 + 1), ("clear", T0 + 9, T0 + 10)]
    exps = [
        Exp("no-journal", T0 + 40, T0 + 60, None),
        Exp("empty-baseline", T0, T0 + 30, journal(T0, T0 + 30, method)),
    ]
    rows = [req(T0 + 12 + i, "error", experiment="empty-baseline") for i in range(5)]
    rows += [req(T0 + 41, experiment="no-journal")]
    run = write_run(tmp_path / "run", exps, rows)
    html = write_report(run).read_text(encoding="utf-8")
    assert 'id="slo"' not in html
    assert "journal chaos/no-journal/journal.json missing" in html
    assert html.count('class="plotly-graph-div"') == 3


@pytest.fixture(scope="module")
def chromium() -> Iterator[browser.Browser]:
    """One headless Chromium for this module; skipped, saying why, when it is not installed."""
    if browser.chromium() is None:
        pytest.skip("chromium not installed: run make system-deps")
    with browser.Browser() as b:
        yield b


def test_report_renders_in_headless_chromium_without_js_errors(
    chromium: browser.Browser, demo: Path
) -> None:
    page = chromium.open(demo / "report.html", CHART_FACTS)
    assert page.exceptions == []
    assert page.console_errors == []
    facts = page.facts
    assert facts["plotly"], "Plotly did not load"
    assert facts["ids"] == [
        "chart-overview",
        "chart-replica-kill",
        "chart-tool-latency",
        "chart-redis-outage",
    ]
    assert all(n >= 1 for n in facts["svgs"])
    # overview: 3 phases x 2 panels; timelines: 2 throughput + 3 latency + 6 outcomes
    # (unjudged included) + 3 breakers + 2 retry traces
    assert facts["traces"] == [6, 16, 16, 16]
    assert all(n >= 1 for n in facts["shapes"][1:]), "fault window not shaded"
    gate = json.loads((demo / "gate.json").read_text())
    assert facts["sloRows"] == len(gate["cases"])  # one table row per gate case
    assert facts["sections"] == 3


def test_browser_check_sees_javascript_errors(chromium: browser.Browser, tmp_path: Path) -> None:
    """The check above can fail: a page that throws is reported."""
    page = tmp_path / "broken.html"
    page.write_text(
        "<html><body><script>console.error('bad'); undefinedCall();</script></body></html>"
    )
    result = chromium.open(page, "document.querySelectorAll('.js-plotly-plot').length")
    assert result.facts == 0
    assert any("undefinedCall" in e for e in result.exceptions)
    assert result.console_errors == ["bad"]
