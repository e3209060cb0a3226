"""`stampede detect` (the detection matrix) and `stampede compare` (reproducibility of SLIs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from stampede import compare as cmp
from stampede import detect as det
from stampede.cli_suite import ProxyOpt
from stampede.stack import default_state_dir


def _names(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [name.strip() for name in value.split(",") if name.strip()] or None


def detect(
    out: Annotated[Path, typer.Option("--out", help="Where matrix.json/.md and runs go.")] = Path(
        "runs/detect"
    ),
    weaknesses: Annotated[
        str | None,
        typer.Option("--weaknesses", help="Comma-separated subset of weaknesses (default: all)."),
    ] = None,
    profile: Annotated[
        str, typer.Option("--profile", help="Profile giving each experiment its load.")
    ] = "full",
    slo: Annotated[Path, typer.Option("--slo", help="SLO file for the gate.")] = Path("slo.yaml"),
    state_dir: Annotated[
        Path | None,
        typer.Option("--state-dir", help="Local stack state dir (default .stampede)."),
    ] = None,
    real: Annotated[
        bool, typer.Option("--real/--no-real", help="Also run the real agent (the union).")
    ] = True,
    keep_stack: Annotated[
        bool | None,
        typer.Option("--keep-stack/--down-after", help="Keep or stop the stack at the end."),
    ] = None,
    plan: Annotated[
        bool, typer.Option("--plan", help="Print the weakness table and exit (runs nothing).")
    ] = False,
    proxy: ProxyOpt = None,
) -> None:
    """Run each weakened agent through the experiments that should expose it, and the real one.

    ``--proxy``: every suite runs with the fault proxy between agent and toolbox (the stack is
    restarted with it for each weakness), so the same weaknesses must be caught through it.

    Prints the matrix (weakness x experiment -> caught by which SLO / missed / false alarm),
    writes matrix.json and matrix.md into --out. Exit 0 only if every weakness is caught on its
    intended SLO and the real agent passes; 1 otherwise; 2 on a harness error.
    """
    rows = det.expectations_for(_names(weaknesses))
    if plan:
        for row in rows:
            typer.echo(
                f"{row.weakness:<22} {', '.join(row.experiments):<32} {', '.join(row.objectives)}"
            )
        typer.echo(f"{det.REAL:<22} {', '.join(det.union_experiments(rows))}")
        raise typer.Exit(0)
    config = det.DetectConfig(
        out=out,
        weaknesses=[row.weakness for row in rows],
        profile=profile,
        slo=slo,
        state_dir=state_dir or default_state_dir(),
        keep_stack=keep_stack,
        real=real,
        proxy=proxy,
    )
    doc = det.run_detection(config, say=lambda line: typer.echo(line))
    typer.echo(det.to_text(doc))
    typer.echo(f"detect: wrote {out / 'matrix.json'} and {out / 'matrix.md'}")
    raise typer.Exit(doc["exit_code"])


def compare(
    run_a: Annotated[Path, typer.Argument(help="First run directory.")],
    run_b: Annotated[Path, typer.Argument(help="Second run directory.")],
    tolerance: Annotated[
        list[str] | None,
        typer.Option("--tolerance", help="Override one SLI's tolerance: SLI=ABS[:REL]."),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the comparison as JSON here.")
    ] = None,
) -> None:
    """Compare the SLIs of two runs (summary.json): exit 0 when all are within tolerance, else 1."""
    tols = cmp.parse_tolerances(tolerance)
    result = cmp.compare(cmp.load_summary(run_a), cmp.load_summary(run_b), tols)
    typer.echo(cmp.to_text(result, str(run_a), str(run_b)), nl=False)
    if json_out:
        json_out.write_text(json.dumps(result, indent=2) + "\n")
    raise typer.Exit(0 if result["within"] else 1)


def register(app: typer.Typer) -> None:
    """Add `detect` and `compare` to the `stampede` app."""
    app.command("detect")(detect)
    app.command("compare")(compare)
