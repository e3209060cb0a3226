"""`stampede proxy`: the fault proxy (``stampede.proxy``) under uvicorn, in one process.

    stampede proxy --listen 127.0.0.1:8200 --upstream llm=http://127.0.0.1:8100/v1 \\
        --upstream tool:get_logs=http://127.0.0.1:8100/tools/get_logs --admin-token T

or ``--config proxy.yaml`` (flags win over the file). The admin token may come from
``$STAMPEDE_PROXY_ADMIN_TOKEN`` so it stays out of the process list; it is never logged (uvicorn's
access log is off, and no log line carries a header). Bad configuration: one line naming the
field, exit 2 (``stampede.cli.main``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from stampede import procs
from stampede.proxy.config import ProxyConfig, load_config, parse_listen, parse_upstream


def _overrides(
    listen: str | None,
    upstream: list[str],
    admin_token: str | None,
    max_fault_ttl_s: float | None,
    seed: int | None,
    allow_remote: bool,
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "admin_token": admin_token,
        "max_fault_ttl_s": max_fault_ttl_s,
        "seed": seed,
        "allow_remote": allow_remote or None,
        "upstreams": dict(parse_upstream(item) for item in upstream),
    }
    if listen is not None:
        values["host"], values["port"] = parse_listen(listen)
    return values


def serve(config: ProxyConfig, log_level: str = "info") -> None:
    """Run the proxy until SIGINT/SIGTERM on a socket opened here (a taken port: exit 2).

    uvicorn and the app (FastAPI, aiohttp: ~0.2 s of imports) are imported here, not at module
    top, so that every other ``stampede`` command (and ``stampede --help``) does not pay for them.
    """
    # lazy: start-up time of every stampede command
    import uvicorn

    # lazy: start-up time of every stampede command
    from stampede.proxy.app import create_app

    sock = procs.listen_socket(config.port, config.host)  # HarnessError when taken
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config),
            loop="uvloop",
            http="httptools",
            lifespan="on",
            access_log=False,
            proxy_headers=False,  # no X-Forwarded-* rewriting: not needed, not free
            server_header=False,
            date_header=False,
            log_level=log_level,
            timeout_graceful_shutdown=5,
        )
    )
    log = logging.getLogger("stampede.proxy")
    log.setLevel(log_level.upper())
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("stampede proxy: %(message)s"))
        log.addHandler(handler)
    server.run(sockets=[sock])


def proxy(
    listen: Annotated[
        str | None, typer.Option("--listen", help="host:port (default 127.0.0.1:8200).")
    ] = None,
    upstream: Annotated[
        list[str] | None,
        typer.Option("--upstream", help="NAME=URL; NAME is llm or tool:<name>. Repeatable."),
    ] = None,
    admin_token: Annotated[
        str | None,
        typer.Option(
            "--admin-token",
            envvar="STAMPEDE_PROXY_ADMIN_TOKEN",
            help="Bearer token of the fault API (without one, /faults answers 401).",
            show_default=False,
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML configuration (flags win).")
    ] = None,
    max_fault_ttl_s: Annotated[
        float | None, typer.Option("--max-fault-ttl-s", help="Fault TTL ceiling (900 s).")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of draws (0).")] = None,
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Allow a non-loopback --listen host.")
    ] = False,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "info",
) -> None:
    """Run the fault proxy between an agent and its LLM and tools (/llm/..., /tools/<name>/...)."""
    overrides = _overrides(listen, upstream or [], admin_token, max_fault_ttl_s, seed, allow_remote)
    serve(load_config(config, overrides), log_level)


def register(app: typer.Typer) -> None:
    """Add `proxy` to the `stampede` app."""
    app.command("proxy")(proxy)
