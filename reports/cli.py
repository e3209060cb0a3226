"""``stampede report RUN_DIR`` and ``stampede gate RUN_DIR --slo FILE``.

The only module of this package that prints and exits. Bad input raises ``ReportsError`` (an
``InputError``); ``stampede.cli.main`` prints it on one line and exits 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reports.errors import require_run_dir
from reports.slo import load_slo

RunDir = Annotated[Path, typer.Argument(help="Run directory (runs/<run-id>).", show_default=False)]


def _precheck(run_dir: Path, slo: Path | None) -> None:
    """Fail fast on the commonest bad input before importing pandas and plotly (seconds)."""
    if slo is not None:
        load_slo(slo)
    require_run_dir(run_dir)


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
) -> None:
    """Judge RUN_DIR against an SLO file. Exit 0 all met, 1 an SLO violated, 2 bad input."""
    _precheck(run_dir, slo)
    from reports.gate import run_gate  # lazy: pandas takes seconds to import

    result = run_gate(
        run_dir, slo, junit_path=junit, summary_path=summary, gate_json_path=gate_json
    )
    typer.echo(result.table_text)
    if not any(c.verdict in ("PASS", "FAIL") for c in result.cases):
        typer.echo("gate: warning: no objective applied to this run", err=True)
    for kind, path in result.paths.items():
        typer.echo(f"{kind}: {path}")
    raise typer.Exit(result.exit_code)


def register(app: typer.Typer) -> None:
    """Add ``report`` and ``gate`` to the ``stampede`` app."""
    app.command("report")(report)
    app.command("gate")(gate)
