"""Running the detection matrix: one suite per weakness and one of the real agent (a campaign)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stampede.detect.render import to_html, to_markdown
from stampede.detect.repeat import repeated_report
from stampede.detect.results import RunResult, load_result
from stampede.detect.table import REAL, Expectation, expectations_for, union_experiments
from stampede.errors import InputError
from stampede.rundir import write_atomic
from stampede.suite import Campaign, Runner, SuiteConfig, run_suite


@dataclass
class DetectConfig:
    """What ``stampede detect`` runs and where it writes."""

    out: Path = Path("runs/detect")
    weaknesses: list[str] | None = None
    profile: str = "full"
    slo: Path = Path("slo.yaml")
    state_dir: Path = Path(".stampede")
    keep_stack: bool | None = None
    real: bool = True
    proxy: bool | None = None  # the fault proxy between agent and toolbox in every suite
    repeat: int = 1  # K: every suite runs K times in a row (the K-matrix)


def plan(rows: tuple[Expectation, ...], real: bool) -> list[tuple[str, list[str]]]:
    """``(row, experiments)`` per suite: each weakness with its own, the real agent the union."""
    out: list[tuple[str, list[str]]] = [(row.weakness, list(row.experiments)) for row in rows]
    if real:
        out.append((REAL, union_experiments(rows)))
    return out


def run_detection(
    config: DetectConfig,
    say: Callable[[str], None] = print,
    run: Runner | None = None,
) -> dict[str, Any]:
    """Run one suite per weakness and one for the real agent, each ``config.repeat`` times;
    write matrix.json / matrix.md / matrix.html.

    ``run`` is :func:`stampede.suite.run_suite` (injectable for tests). The suites are one
    :class:`stampede.suite.Campaign`: they share one local stack (restarted when the weakness
    changes, with the proxy of ``config.proxy`` every time), stopped at the end if the campaign
    started it. The K runs of a row follow each other on the same stack (one restart per row).
    """
    if config.repeat < 1:
        raise InputError(f"--repeat: expected K >= 1, got {config.repeat}")
    rows = expectations_for(config.weaknesses)
    base = SuiteConfig(
        profile=config.profile,
        slo=config.slo,
        runs_dir=config.out / "runs",
        state_dir=config.state_dir,
        proxy=config.proxy,
    )
    started = time.time()

    def detect_say(line: str) -> None:
        say(f"detect: {line}")

    with Campaign(base, detect_say, config.keep_stack, runner=run or run_suite) as campaign:
        results, timings = _run_suites(campaign, plan(rows, config.real), config.repeat, say)
    meta = {
        "started_at": started,
        "ended_at": time.time(),
        "profile": config.profile,
        "slo_file": str(config.slo),
        "proxy": config.proxy,
        "seconds_per_run": timings,
    }
    doc = repeated_report(rows, results, meta)
    config.out.mkdir(parents=True, exist_ok=True)
    write_atomic(config.out / "matrix.json", json.dumps(doc, indent=2) + "\n")
    write_atomic(config.out / "matrix.md", to_markdown(doc))
    write_atomic(config.out / "matrix.html", to_html(doc))
    return doc


def _run_suites(
    campaign: Campaign,
    suites: list[tuple[str, list[str]]],
    repeat: int,
    say: Callable[[str], None],
) -> tuple[dict[str, list[RunResult | None]], dict[str, Any]]:
    """Each suite ``repeat`` times; stop everything at the first interrupted run."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    results: dict[str, list[RunResult | None]] = {name: [] for name, _ in suites}
    timings: dict[str, list[float]] = {name: [] for name, _ in suites}
    for name, experiments in suites:
        for k in range(repeat):
            tag = f" (run {k + 1}/{repeat})" if repeat > 1 else ""
            say(f"detect: {name}{tag}: {', '.join(experiments)}")
            t0 = time.monotonic()
            outcome = campaign.run(
                weakness=None if name == REAL else name,
                experiments=experiments,
                run_id=f"detect-{stamp}-{name}" + (f"-{k + 1}" if repeat > 1 else ""),
            )
            timings[name].append(round(time.monotonic() - t0, 1))
            results[name].append(load_result(outcome.run_dir, outcome.exit_code))
            if outcome.interrupted:
                say("detect: interrupted")
                return results, _timings(timings, repeat)
    return results, _timings(timings, repeat)


def _timings(timings: dict[str, list[float]], repeat: int) -> dict[str, Any]:
    """Seconds per run: one number per row for K = 1 (as before), else the K figures."""
    if repeat == 1:
        return {name: values[0] for name, values in timings.items() if values}
    return timings
