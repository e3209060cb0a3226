"""`stampede compare A B --html OUT` on two run directories, one with a planted regression."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from reports.compare_html import diff_rows
from reports.render import write_report
from stampede import compare as cmp
from tests.reports import browser
from tests.reports.rundir import demo_run

REPO = Path(__file__).resolve().parents[2]
OVERLAY_FACTS = """(() => ({
  plotly: window.Plotly ? Plotly.version : null,
  ids: [...document.querySelectorAll('.js-plotly-plot')].map(p => p.id),
  traces: [...document.querySelectorAll('.js-plotly-plot')].map(
    p => p.querySelectorAll('g.trace').length),
  flagged: [...document.querySelectorAll('#verdict tr.regression')].map(
    r => r.cells[0].textContent + ' ' + r.cells[1].textContent),
}))()"""


def _slow_down(run: Path, factor: float) -> None:
    """Multiply every latency in requests.csv by ``factor`` (the planted regression)."""
    path = run / "requests.csv"
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["latency_ms"] = f"{float(row['latency_ms']) * factor:.3f}"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A reported run and the same run with every latency tripled, reported too."""
    root = tmp_path_factory.mktemp("compare")
    a, b = demo_run(root / "a"), demo_run(root / "b")
    _slow_down(b, 3.0)
    for run in (a, b):
        write_report(run, REPO / "slo.yaml")
    return a, b


def _compare(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stampede.cli", "compare", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )


def test_planted_regression_is_flagged_in_text_exit_code_and_html(
    runs: tuple[Path, Path], tmp_path: Path
) -> None:
    a, b = runs
    out = tmp_path / "diff.html"
    done = _compare(a, b, "--html", out, "--json", tmp_path / "diff.json")
    assert done.returncode == 1, done.stderr
    assert "outside tolerance" in done.stdout
    assert "latency_p95_ms" in done.stdout
    html = out.read_text(encoding="utf-8")
    assert re.search(r"<script[^>]+src=", html) is None  # self-contained
    assert html.count("* plotly.js v") == 1
    result = json.loads((tmp_path / "diff.json").read_text())
    flagged = re.findall(
        r'<tr class="regression"><td class="nowrap">([^<]+)</td><td><code>([^<]+)', html
    )
    # every pair the exit code counts is a highlighted regression (latency got worse), and
    # nothing else is: success and error ratios did not move
    assert sorted(flagged) == sorted((r["scope"], r["sli"]) for r in result["outside"])
    assert {sli for _, sli in flagged} <= {"latency_p50_ms", "latency_p95_ms"}
    assert ("replica-kill/fault", "latency_p95_ms") in flagged
    # every SLI per scope: the run, and each experiment's four scopes
    scopes = re.findall(r'<details class="scope" id="scope-\d+"[^>]*>\s*<summary>([^<—]+)', html)
    assert [s.strip() for s in scopes][:5] == [
        "run",
        "replica-kill/all",
        "replica-kill/baseline",
        "replica-kill/fault",
        "replica-kill/recovery",
    ]
    assert html.count('class="plotly-graph-div"') == 3  # one overlay per common experiment


def test_a_run_against_itself_is_within_tolerance(runs: tuple[Path, Path], tmp_path: Path) -> None:
    a, _ = runs
    done = _compare(a, a, "--html", tmp_path / "same.html")
    assert done.returncode == 0, done.stderr
    html = (tmp_path / "same.html").read_text(encoding="utf-8")
    assert "within tolerance" in html and 'class="regression"' not in html


def test_status_follows_the_better_direction_and_tolerance() -> None:
    def summary(slis: dict[str, object]) -> dict[str, object]:
        return {"scopes": {"run": {"slis": slis}, "experiments": {}}}

    a = summary(
        {"success_ratio": 0.99, "latency_p95_ms": 900.0, "requests": 100, "recovered": True}
    )
    b = summary(
        {"success_ratio": 0.80, "latency_p95_ms": 300.0, "requests": 90, "recovered": False}
    )
    result = cmp.compare(a, b)
    rows = {r["sli"]: r["status"] for r in diff_rows(a, b, result)[0]["rows"]}
    assert rows["success_ratio"] == "regression"  # outside 0.05, lower is worse
    assert rows["latency_p95_ms"] == "improvement"  # outside tolerance, faster
    assert rows["requests"] == "changed"  # no tolerance, no better direction
    assert rows["recovered"] == "worse"  # no tolerance: shown, not counted


def test_bad_run_directory_exits_2_with_one_line(tmp_path: Path) -> None:
    done = _compare(tmp_path / "nope", tmp_path / "nope", "--html", tmp_path / "x.html")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "summary.json" in done.stderr
    assert not (tmp_path / "x.html").exists()


def test_compare_html_renders_in_headless_chromium(
    chromium: browser.Browser, runs: tuple[Path, Path], tmp_path: Path
) -> None:
    a, b = runs
    out = tmp_path / "diff.html"
    assert _compare(a, b, "--html", out).returncode == 1
    page = chromium.open(out, OVERLAY_FACTS)
    assert page.exceptions == [] and page.console_errors == []
    facts = page.facts
    assert facts["plotly"]
    assert facts["ids"] == ["overlay-0", "overlay-1", "overlay-2"]
    assert facts["traces"] == [6, 6, 6]  # 3 panels x (A, B)
    assert "replica-kill/fault latency_p95_ms" in facts["flagged"]
