"""The `stampede` command: wiring only. Each command group lives in its own module."""

from __future__ import annotations

import sys

import typer

from reports import cli as reports_cli
from stampede import __version__, cli_compare, cli_detect, cli_kind, cli_proxy, cli_stack, cli_suite
from stampede.errors import StampedeError

app = typer.Typer(
    name="stampede",
    help="Load and chaos for LLM agents: local stack, suites, reports and the SLO gate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Load and chaos for LLM agents: local stack, suites, reports and the SLO gate."""


def _register() -> None:
    for module in (cli_stack, cli_suite, reports_cli, cli_kind, cli_detect, cli_proxy, cli_compare):
        module.register(app)


_register()


@app.command()
def version() -> None:
    """Print Stampede's version."""
    typer.echo(__version__)


def main() -> None:
    """Entry point: bad input and harness failures become one line on stderr and exit 2."""
    try:
        app()
    except StampedeError as exc:
        print(f"stampede: error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
