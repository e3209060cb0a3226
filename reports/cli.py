"""``stampede report RUN_DIR`` and ``stampede gate RUN_DIR --slo FILE``.

The only module of this package that prints and exits. Bad input raises ``ReportsError`` (an
``InputError``); ``stampede.cli.main`` prints it on one line and exits 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reports.errors import ReportsError, require_run_dir
from reports.slo import load_slo, require_baseline

RunDir = Annotated[Path, typer.Argument(help="Run directory (runs/<run-id>).", show_default=False)]


def _precheck(run_dir: Path, slo: Path | None, baseline: Path | None = None) -> None:
    """Fail fast on the commonest bad input before importing pandas and plotly (seconds)."""
    if slo is not None:
        require_baseline(load_slo(slo), baseline)
    require_run_dir(run_dir)
    if baseline is not None:
        require_run_dir(baseline)


def report(
    run_dir: RunDir,
    slo: Annotated[
        Path | None,
        typer.Option("--slo", help="SLO file: evaluate it and show the verdicts in the report."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Report path (default: RUN_DIR/report.html).")
    ] = None,
) -> None:
    """Write RUN_DIR/report.html (self-contained, opens offline) and RUN_DIR/summary.json."""
    if slo is not None and load_slo(slo).relative:
        raise ReportsError(
            f"{slo}: has relative objectives ('+10%'), which need a baseline run: run `stampede "
            f"gate {run_dir} --slo {slo} --baseline RUN0` first, then `stampede report "
            f"{run_dir}` without --slo (it shows gate.json's verdicts)"
        )
    _precheck(run_dir, slo)
    from reports.render import write_report  # lazy: pandas + plotly take seconds to import

    path = write_report(run_dir, slo, out=out)
    typer.echo(f"report: {path}")
    typer.echo(f"summary: {run_dir / 'summary.json'}")


def gate(
    run_dir: RunDir,
    slo: Annotated[Path, typer.Option("--slo", help="SLO file (see docs/slo.md).")],
    junit: Annotated[
        Path | None, typer.Option("--junit", help="JUnit XML path (default: RUN_DIR/junit.xml).")
    ] = None,
    summary: Annotated[
        Path | None,
        typer.Option("--summary", help="Markdown summary path (default: RUN_DIR/summary.md)."),
    ] = None,
    gate_json: Annotated[
        Path | None,
        typer.Option("--gate-json", help="Verdicts as JSON (default: RUN_DIR/gate.json)."),
    ] = None,
    baseline: Annotated[
        Path | None,
        typer.Option(
            "--baseline",
            help='Baseline run directory: relative thresholds ("+10%") are derived from its '
            "SLIs in the same scope.",
        ),
    ] = None,
    allow_empty: Annotated[
        bool,
        typer.Option(
            "--allow-empty", help="Exit 0 when no objective of the SLO file applied (default 2)."
        ),
    ] = False,
) -> None:
    """Judge RUN_DIR against an SLO file.

    Exit 0 all met, 1 an SLO violated (or an experiment's journal deviated, failed, aborted or
    was interrupted: the built-in experiment-verdict), 2 bad input or no objective applied.
    """
    _precheck(run_dir, slo, baseline)
    from reports.gate import run_gate  # lazy: pandas takes seconds to import

    result = run_gate(
        run_dir,
        slo,
        junit_path=junit,
        summary_path=summary,
        gate_json_path=gate_json,
        baseline_dir=baseline,
        allow_empty=allow_empty,
    )
    typer.echo(result.table_text)
    for kind, path in result.paths.items():
        typer.echo(f"{kind}: {path}")
    if result.problem:
        typer.echo(f"stampede: error: {result.problem}", err=True)
    raise typer.Exit(result.exit_code)


def register(app: typer.Typer) -> None:
    """Add ``report`` and ``gate`` to the ``stampede`` app."""
    app.command("report")(report)
    app.command("gate")(gate)
