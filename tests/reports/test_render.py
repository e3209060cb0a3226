"""report.html and summary.json: self-contained, complete, and rendering in a real browser."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reports.firstscreen import failure_text, matrix
from reports.gate import run_gate
from reports.load import load
from reports.render import write_report
from reports.slis import summarize
from reports.timeseries import nearest_rank_per_bin
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
    assert "Did it pass?" in html and 'id="slo"' in html  # from gate.json


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


MATRIX_FACTS = """(() => {
  const main = document.querySelector('main');
  const cells = [...document.querySelectorAll('#verdict table.matrix a.cell')];
  return {
    firstCard: main.querySelector('section.card').id,
    cells: cells.map(a => ({
      href: a.getAttribute('href'),
      target: !!document.getElementById(a.getAttribute('href').slice(1)),
      verdict: a.dataset.verdict,
      title: a.getAttribute('title'),
    })),
    failures: [...document.querySelectorAll('#verdict ul.failures a')].map(a => ({
      text: a.textContent, target: !!document.getElementById(a.getAttribute('href').slice(1)),
    })),
    folded: !document.querySelector('#slo details').open,
    fullRows: document.querySelectorAll('#slo tbody tr').length,
  };
})()"""


def test_first_screen_says_what_broke_where_and_matrix_links_resolve(
    chromium: browser.Browser, demo: Path
) -> None:
    """Verdict first, the objective x experiment matrix linked to the experiments, failures
    in words, the full table folded — in a real browser, without console errors."""
    page = chromium.open(demo / "report.html", MATRIX_FACTS)
    assert page.exceptions == [] and page.console_errors == []
    facts = page.facts
    gate = json.loads((demo / "gate.json").read_text())
    assert facts["firstCard"] == "verdict"
    assert facts["cells"], "no matrix cells"
    assert all(c["target"] for c in facts["cells"]), "a matrix cell links to no element"
    assert {c["href"] for c in facts["cells"]} >= {
        "#exp-replica-kill",
        "#exp-tool-latency",
        "#exp-redis-outage",
    }
    failed = [c for c in gate["cases"] if c["verdict"] == "FAIL"]
    assert failed, "the demo run should violate something (the test needs a FAIL)"
    assert sum(c["verdict"] == "FAIL" for c in facts["cells"]) == len(
        {(c["objective"], c["scope"]["experiment"]) for c in failed}
    )
    assert all(c["title"] for c in facts["cells"])  # value on hover
    assert len(facts["failures"]) == len(failed) and all(f["target"] for f in facts["failures"])
    assert facts["folded"] and facts["fullRows"] == len(gate["cases"])


def test_failure_in_words_and_matrix_from_gate_cases() -> None:
    case = {
        "objective": "tool-hang-p95",
        "sli": "latency_p95_ms",
        "op": "<",
        "threshold": 3000,
        "scope": {"experiment": "tool-hang", "phase": "fault"},
        "scope_label": "tool-hang/fault",
        "value": 4100.0,
        "verdict": "FAIL",
        "message": "latency_p95_ms = 4100 in tool-hang/fault, expected < 3000",
    }
    assert failure_text(case) == "tool-hang: p95 4.1 s in fault, objective < 3 s"
    relative = {**case, "threshold": 3300.0, "relative": "+10%", "baseline_value": 3000.0}
    assert failure_text(relative).endswith("objective < 3.3 s (+10% of the baseline's 3 s)")
    # a value that is not an SLI number (a built-in objective): the gate's own message
    builtin = {**case, "sli": "experiment_verdict", "value": "deviated", "message": "deviated"}
    assert failure_text(builtin) == "tool-hang: tool-hang-p95: deviated"
    passed = {**case, "scope": {"experiment": "tool-hang", "phase": "baseline"}, "verdict": "PASS"}
    elsewhere = {**case, "scope": {"experiment": "not-run", "phase": "fault"}, "verdict": "N/A"}
    grid = matrix([passed, case, elsewhere], ["tool-hang", "overload"], lambda n: f"exp-{n}")
    assert grid["columns"] == ["tool-hang", "overload"]  # no column for an experiment not run
    (row,) = grid["rows"]
    assert [c["verdict"] for c in row["cells"]] == ["FAIL", ""]  # worst of the two phases
    assert row["cells"][0]["href"] == "#exp-tool-hang" and "4.1 s" in row["cells"][0]["title"]


def test_report_without_verdicts_says_how_to_get_them(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", [Exp("e", T0, T0 + 10, None)], [req(T0 + 1, experiment="e")])
    html = write_report(run).read_text(encoding="utf-8")
    assert 'id="verdict"' in html and "not judged" in html and "stampede gate" in html


@pytest.mark.parametrize("n", [1, 2, 7, 20, 21, 100, 1001])
def test_per_bin_nearest_rank_is_numpy_inverted_cdf(n: int) -> None:
    rng = np.random.default_rng(n)
    values = rng.lognormal(5, 1, n * 3)
    bins = np.repeat(np.arange(3), n)
    for q in (50, 95, 99):
        got = nearest_rank_per_bin(bins, values, 4, q)
        want = [np.quantile(values[bins == k], q / 100, method="inverted_cdf") for k in range(3)]
        assert got[:3].tolist() == want and np.isnan(got[3])


def test_report_size_is_bounded_by_bins_not_by_run_length(tmp_path: Path) -> None:
    """A 6-hour experiment is drawn in wider bins: the report stays far below 6 MB."""
    start, end = T0, T0 + 6 * 3600
    method = [("inject", T0 + 3600, T0 + 3601), ("clear", T0 + 7200, T0 + 7201)]
    rows = [req(T0 + s, experiment="soak", latency_ms=100 + s % 7) for s in range(0, 6 * 3600, 2)]
    run = write_run(tmp_path / "run", [Exp("soak", start, end, journal(start, end, method))], rows)
    html = write_report(run).read_text(encoding="utf-8")
    assert "bins of 9 s" in html  # 21600 s / 2400 bins
    assert len(html.encode()) < 5_600_000


def test_requests_parquet_copy_is_used_only_while_the_csv_is_unchanged(tmp_path: Path) -> None:
    """The second read takes the Parquet copy (same frame); a rewritten CSV is read again."""
    rows = [req(T0 + i, "error" if i % 3 else "correct", experiment="e") for i in range(50)]
    run = write_run(tmp_path / "run", [Exp("e", T0, T0 + 60, None)], rows)
    first = load(run).requests
    copy = run / ".stampede-cache" / "requests.parquet"
    assert copy.is_file()
    again = load(run).requests
    pd.testing.assert_frame_equal(first, again)
    text = (run / "requests.csv").read_text().replace(",error,", ",shed,")  # same size
    (run / "requests.csv").write_text(text)
    changed = load(run).requests
    assert (changed["outcome"] == "shed").sum() == (first["outcome"] == "error").sum() > 0
    copy.write_bytes(b"not parquet")  # a torn copy is ignored, never an error
    pd.testing.assert_frame_equal(load(run).requests, changed)
