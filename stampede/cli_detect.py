"""`stampede detect`: the detection matrix (`stampede compare` is in stampede/cli_compare.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stampede import detect as det
from stampede.cli_suite import ProxyOpt
from stampede.stack import default_state_dir


def _names(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [name.strip() for name in value.split(",") if name.strip()] or None


RepeatOpt = Annotated[
    int,
    typer.Option(
        "--repeat",
        min=1,
        help="Run every suite K times: each weakness must be caught on an intended SLO in K of "
        "K runs and the real agent pass all K (the K-matrix).",
    ),
]


def _print_plan(rows: tuple[det.Expectation, ...]) -> None:
    """The weakness table, one line per row, then the real agent's union of experiments."""
    for row in rows:
        typer.echo(
            f"{row.weakness:<22} {', '.join(row.experiments):<32} {', '.join(row.objectives)}"
        )
    typer.echo(f"{det.REAL:<22} {', '.join(det.union_experiments(rows))}")


def detect(
    out: Annotated[Path, typer.Option("--out", help="Where matrix.* and runs go.")] = Path(
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
    repeat: RepeatOpt = 1,
) -> None:
    """Run each weakened agent through the experiments that should expose it, and the real one.

    ``--repeat K``: every suite runs K times; the matrix passes only at K of K per weakness and
    for the real agent. ``--proxy``: every suite runs with the fault proxy between agent and
    toolbox (restarted with it for each weakness): the same weaknesses must be caught through it.

    Prints the matrix (weakness x experiment -> caught by which SLO / missed / false alarm),
    writes matrix.json, matrix.md and matrix.html into --out. Exit 0 only if every weakness is
    caught on its intended SLO and the real agent passes; 1 otherwise; 2 on a harness error.
    """
    rows = det.expectations_for(_names(weaknesses))
    if plan:
        _print_plan(rows)
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
        repeat=repeat,
    )
    doc = det.run_detection(config, say=lambda line: typer.echo(line))
    typer.echo(det.to_text(doc))
    written = ", ".join(str(out / f"matrix.{ext}") for ext in ("json", "md", "html"))
    typer.echo(f"detect: wrote {written}")
    raise typer.Exit(doc["exit_code"])


def register(app: typer.Typer) -> None:
    """Add `detect` to the `stampede` app (`compare` is stampede/cli_compare.py's)."""
    app.command("detect")(detect)
