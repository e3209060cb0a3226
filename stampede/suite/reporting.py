"""The suite's last step: collect the run directory, write the report, run the SLO gate.

The report and the gate are the ``reports`` package's (which imports nothing of the
orchestration); they can be swapped for tests through :class:`Reporters`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stampede import rundir
from stampede.errors import StampedeError
from stampede.suite.config import EXIT_INTERRUPTED, SuiteOutcome
from stampede.suite.context import RunContext


@dataclass(frozen=True)
class Reporters:
    """``write_report(run_dir, slo) -> path`` and ``run_gate(run_dir, slo) -> result`` (a
    result has ``exit_code`` and ``table_text``, optionally ``problem``: why it is 2)."""

    write_report: Callable[[Path, Path | None], Path]
    run_gate: Callable[[Path, Path], Any]


def _render(run_dir: Path, slo: Path | None) -> Path:
    """``reports.render.write_report``, imported when a report is written."""
    # lazy: pandas + plotly add ~0.5 s to the start of every stampede command (measured)
    from reports.render import write_report

    return write_report(run_dir, slo)


def _gate(run_dir: Path, slo: Path) -> Any:
    """``reports.gate.run_gate``, imported when the gate runs."""
    # lazy: pandas + plotly add ~0.5 s to the start of every stampede command (measured)
    from reports.gate import run_gate

    return run_gate(run_dir, slo)


DEFAULT_REPORTERS = Reporters(_render, _gate)


def collect(ctx: RunContext, partial: bool) -> None:
    """requests.csv (torn rows noted in run.json), samples.csv and the final run.json."""
    record = ctx.record
    merged = rundir.merge_requests(ctx.run_dir, [e.name for e in record.experiments])
    rundir.ensure_samples_file(ctx.run_dir)
    counted = [e.locust.requests for e in record.experiments if e.locust is not None]
    record.requests = rundir.RequestsSummary(
        rows=merged.rows,
        files=merged.files,
        dropped=merged.dropped,
        locust_total=sum(c for c in counted if c is not None),
    )
    record.notes.extend(merged.notes())
    record.partial = partial
    record.ended_at = time.time()
    ctx.save()
    ctx.say(
        f"collected: requests.csv {merged.rows} rows "
        f"(Locust counted {record.requests.locust_total}), samples.csv, run.json"
    )
    for note in merged.notes():
        ctx.say(f"note: {note}")


def report_and_gate(ctx: RunContext, reporters: Reporters) -> SuiteOutcome:
    """Report, then gate. Exit: the gate's code, or 2 when the harness had a problem."""
    run_dir, config = ctx.run_dir, ctx.config
    slo = ctx.path(config.slo) if config.slo else None
    errors = list(ctx.record.harness_errors)
    if not config.report:
        return SuiteOutcome(run_dir, 2 if errors else 0)
    rebuild = f"rebuild with `stampede report {run_dir}` / `stampede gate {run_dir} --slo ...`"
    try:
        report_path = _write_report(ctx, reporters, slo, errors)
        if slo is None:
            ctx.say("no --slo: gate skipped")
            return SuiteOutcome(run_dir, 2 if errors else 0, report_path=report_path)
        result = reporters.run_gate(run_dir, slo)
    except KeyboardInterrupt:
        ctx.say(f"interrupted during report/gate; the run directory is complete: {rebuild}")
        return SuiteOutcome(run_dir, EXIT_INTERRUPTED, interrupted=True)
    except StampedeError as exc:
        raise type(exc)(f"{exc} (run directory {run_dir}; {rebuild})") from exc
    table = str(result.table_text)
    code = int(result.exit_code)
    print(table, flush=True)
    problem = str(getattr(result, "problem", "") or "")
    if problem:  # exit 2 from the gate itself: no objective of the SLO file applied
        ctx.say(f"gate: {problem}")
    if errors:
        ctx.say("harness problems, exit 2: " + "; ".join(errors))
        code = 2
    ctx.say(f"gate: exit {code}; report {report_path or '(none)'}; run directory {run_dir}")
    return SuiteOutcome(run_dir, code, report_path=report_path, gate_table=table)


def _write_report(
    ctx: RunContext, reporters: Reporters, slo: Path | None, errors: list[str]
) -> Path | None:
    """The HTML report, or None (its failure is a harness problem, not the end of the run)."""
    try:
        path = reporters.write_report(ctx.run_dir, slo)
    except StampedeError as exc:
        errors.append(f"report: {exc}")
        ctx.say(f"report failed: {exc}")
        return None
    ctx.say(f"report: {path}")
    return path
