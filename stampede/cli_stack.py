"""`stampede up | down | status`: the local stack (stampede.stack) from the command line."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from stampede import stack
from stampede.errors import InputError

StateDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        help="Where stack.json and logs/ live [default: $STAMPEDE_STATE_DIR or ./.stampede]",
        show_default=False,
    ),
]


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of the record (tests replace it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _log_to_stderr() -> None:
    """Progress of stampede.* to stderr, one ``stampede: ...`` line each (no duplicates)."""
    log = logging.getLogger("stampede")
    if not any(isinstance(h, _StderrHandler) for h in log.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("stampede: %(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)


def _parse_env(pairs: list[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"--env: expected KEY=VALUE, got {pair!r}")
        env[key] = value
    return env


def _table(report: dict[str, Any]) -> str:
    header = ("component", "pid", "port", "url", "state", "workers")
    rows = [header]
    for name, row in report["components"].items():
        state = "ready" if row["ready"] else ("alive" if row["alive"] else "down")
        workers = ""
        if "workers" in row:
            workers = f"{row['workers']['alive']}/{row['workers']['expected']}"
        rows.append(
            (
                name,
                str(row["pid"] or "-"),
                str(row["port"] or "-"),
                row["url"] or "-",
                state,
                workers,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=True)).rstrip()
        for r in rows
    )


def up(
    state_dir: StateDirOpt = None,
    workers: Annotated[int, typer.Option(help="Agent uvicorn workers.")] = 2,
    agent_port: Annotated[int, typer.Option(help="0 = any free port.")] = 0,
    toolbox_port: Annotated[int, typer.Option(help="0 = any free port.")] = 0,
    redis_port: Annotated[int, typer.Option(help="0 = any free port.")] = 0,
    proxy: Annotated[
        bool, typer.Option("--proxy", help="Put the fault proxy between agent and toolbox.")
    ] = False,
    proxy_port: Annotated[int, typer.Option(help="0 = any free port (with --proxy).")] = 0,
    weakness: Annotated[
        str, typer.Option(help=f"Turn off one agent mechanism: {', '.join(stack.WEAKNESSES)}.")
    ] = "",
    env: Annotated[
        list[str] | None, typer.Option("--env", help="Extra agent env KEY=VALUE (repeatable).")
    ] = None,
    replica: Annotated[str, typer.Option(help="AGENT_REPLICA of the agent.")] = "local",
    llm_base_url: Annotated[
        str, typer.Option(help="OpenAI-compatible base URL [default: the toolbox's /v1].")
    ] = "",
    graceful_shutdown: Annotated[
        int,
        typer.Option(
            help="Seconds the agent may drain on SIGTERM, at least; never below the agent's "
            "deadline + flush + 2 s."
        ),
    ] = 0,
    loop: Annotated[
        str, typer.Option(help="uvicorn event loop: auto, asyncio or uvloop.")
    ] = "auto",
    agent_app: Annotated[
        str, typer.Option(help="ASGI app run as the agent (module:attribute).")
    ] = stack.AGENT_APP,
    restart: Annotated[bool, typer.Option(help="Replace a running stack.")] = False,
) -> None:
    """Start Redis, the toolbox, the fault proxy (--proxy) and the agent; wait until they serve."""
    _log_to_stderr()
    config = stack.StackConfig(
        state_dir=state_dir or stack.default_state_dir(),
        workers=workers,
        agent_port=agent_port,
        toolbox_port=toolbox_port,
        redis_port=redis_port,
        proxy=proxy,
        proxy_port=proxy_port,
        weakness=weakness or None,
        env=_parse_env(env or []),
        replica=replica,
        llm_base_url=llm_base_url,
        graceful_shutdown_s=graceful_shutdown,
        loop=loop,
        agent_app=agent_app,
        restart=restart,
    )
    state = stack.up(config)
    typer.echo(_table(stack.status(config.state_dir)))
    typer.echo(f"state: {state.path}  logs: {state.path.parent / 'logs'}")


def down(state_dir: StateDirOpt = None) -> None:
    """Stop everything `up` started (agent first, draining), also after a crash."""
    _log_to_stderr()
    stack.down(state_dir)


def status(
    state_dir: StateDirOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show each component; exit 0 all up, 1 something down, 2 no state file."""
    path = (state_dir or stack.default_state_dir()) / "stack.json"
    if not path.exists():
        raise InputError(f"no local stack: {path} does not exist (run `stampede up`)")
    report = stack.status(state_dir)
    typer.echo(json.dumps(report, indent=2) if as_json else _table(report))
    raise typer.Exit(0 if report["all_up"] else 1)


def register(app: typer.Typer) -> None:
    """Add `up`, `down` and `status` to the `stampede` app."""
    app.command("up")(up)
    app.command("down")(down)
    app.command("status")(status)
