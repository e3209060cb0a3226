"""Running the detection matrix: one suite per weakness and one of the real agent (a campaign)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stampede.detect.matrix import report
from stampede.detect.render import to_markdown
from stampede.detect.results import RunResult, load_result
from stampede.detect.table import REAL, Expectation, expectations_for, union_experiments
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
    """Run one suite per weakness and one for the real agent; write matrix.json / matrix.md.

    ``run`` is :func:`stampede.suite.run_suite` (injectable for tests). The suites are one
    :class:`stampede.suite.Campaign`: they share one local stack (restarted when the weakness
    changes, with the proxy of ``config.proxy`` every time), stopped at the end if the campaign
    started it.
    """
    rows = expectations_for(config.weaknesses)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    base = SuiteConfig(
        profile=config.profile,
        slo=config.slo,
        runs_dir=config.out / "runs",
        state_dir=config.state_dir,
        proxy=config.proxy,
    )
    suites = plan(rows, config.real)
    results: dict[str, RunResult | None] = {name: None for name, _ in suites}
    started = time.time()
    timings: dict[str, float] = {}

    def detect_say(line: str) -> None:
        say(f"detect: {line}")

    with Campaign(base, detect_say, config.keep_stack, runner=run or run_suite) as campaign:
        for name, experiments in suites:
            say(f"detect: {name}: {', '.join(experiments)}")
            t0 = time.monotonic()
            outcome = campaign.run(
                weakness=None if name == REAL else name,
                experiments=experiments,
                run_id=f"detect-{stamp}-{name}",
            )
            timings[name] = round(time.monotonic() - t0, 1)
            results[name] = load_result(outcome.run_dir, outcome.exit_code)
            if outcome.interrupted:
                say("detect: interrupted")
                break
    meta = {
        "started_at": started,
        "ended_at": time.time(),
        "profile": config.profile,
        "slo_file": str(config.slo),
        "proxy": config.proxy,
        "seconds_per_run": timings,
    }
    doc = report(rows, results, meta)
    config.out.mkdir(parents=True, exist_ok=True)
    (config.out / "matrix.json").write_text(json.dumps(doc, indent=2) + "\n")
    (config.out / "matrix.md").write_text(to_markdown(doc))
    return doc
