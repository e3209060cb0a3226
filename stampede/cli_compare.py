"""`stampede compare A B`: are the SLIs of two runs within tolerance? (text, JSON, HTML diff)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from stampede import compare as cmp
from stampede.rundir import write_atomic


def compare(
    run_a: Annotated[Path, typer.Argument(help="First run directory (A, the reference).")],
    run_b: Annotated[Path, typer.Argument(help="Second run directory (B).")],
    tolerance: Annotated[
        list[str] | None,
        typer.Option("--tolerance", help="Override one SLI's tolerance: SLI=ABS[:REL]."),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the comparison as JSON here.")
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option(
            "--html",
            help="Also write a self-contained diff report here (every SLI per scope, deltas, "
            "regressions highlighted, the two timelines overlaid).",
        ),
    ] = None,
) -> None:
    """Compare the SLIs of two runs (summary.json): exit 0 when all are within tolerance, else 1."""
    tols = cmp.parse_tolerances(tolerance)
    a, b = cmp.load_summary(run_a), cmp.load_summary(run_b)
    result = cmp.compare(a, b, tols)
    typer.echo(cmp.to_text(result, str(run_a), str(run_b)), nl=False)
    if json_out:
        write_atomic(json_out, json.dumps(result, indent=2) + "\n")
    if html:
        from reports.compare_html import compare_html  # lazy: pandas + plotly take seconds

        html.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(html, compare_html(run_a, run_b, a, b, result))
        typer.echo(f"html: {html}")
    raise typer.Exit(0 if result["within"] else 1)


def register(app: typer.Typer) -> None:
    """Add `compare` to the `stampede` app (registered after cli_detect: this one is used)."""
    app.command("compare")(compare)
