"""Our Python services: uvicorn command lines; the toolbox and the fault proxy, spawned or ready."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from stampede.procs.net import LOCALHOST
from stampede.procs.process import Proc, python_cmd, spawn
from stampede.procs.ready import Probe, ensure_ready, http_ok

TOOLBOX_APP = "target_agent.toolbox.main:app"
#: How `stampede proxy` takes its admin token without showing it in the process list.
PROXY_TOKEN_ENV = "STAMPEDE_PROXY_ADMIN_TOKEN"


def uvicorn_command(app: str, *args: str) -> list[str]:
    """``python -m uvicorn <app> <args>`` with this interpreter (the project's venv)."""
    return python_cmd("-m", "uvicorn", app, *args)


def toolbox_command(port: int, *uvicorn_args: str) -> list[str]:
    """The toolbox under uvicorn on 127.0.0.1:``port``, no access log, plus ``uvicorn_args``."""
    return uvicorn_command(
        TOOLBOX_APP, "--host", LOCALHOST, "--port", str(port), "--no-access-log", *uvicorn_args
    )


def spawn_toolbox(
    port: int,
    log: Path,
    admin_token: str,
    *uvicorn_args: str,
    env: Mapping[str, str] | None = None,
) -> Proc:
    """Spawn the toolbox (`toolbox_command`) without waiting; `toolbox_ready` says when it serves.

    ``env`` extends the environment; ``TOOLBOX_ADMIN_TOKEN`` is ``admin_token``.
    """
    full_env = {**(env or {}), "TOOLBOX_ADMIN_TOKEN": admin_token}
    return spawn(toolbox_command(port, *uvicorn_args), log, env=full_env)


def toolbox_ready(port: int) -> Probe:
    """A probe ready when the toolbox on 127.0.0.1:``port`` answers /healthz with 200."""
    return http_ok(f"http://{LOCALHOST}:{port}/healthz")


def start_toolbox(
    port: int,
    log: Path,
    admin_token: str,
    *uvicorn_args: str,
    env: Mapping[str, str] | None = None,
    timeout_s: float = 30.0,
) -> Proc:
    """`spawn_toolbox` and wait until /healthz answers 200.

    Raises HarnessError with the log tail when it dies or is not ready within ``timeout_s``
    (and stops it).
    """
    proc = spawn_toolbox(port, log, admin_token, *uvicorn_args, env=env)
    return ensure_ready(proc, toolbox_ready(port), "toolbox", timeout_s)


def proxy_command(port: int, upstreams: Mapping[str, str], *args: str) -> list[str]:
    """``stampede proxy`` on 127.0.0.1:``port`` forwarding to ``upstreams`` (name -> base URL)."""
    flags = [item for name, url in upstreams.items() for item in ("--upstream", f"{name}={url}")]
    return python_cmd(
        "-m", "stampede.cli", "proxy", "--listen", f"{LOCALHOST}:{port}", *flags, *args
    )  # fmt: skip


def spawn_proxy(
    port: int,
    log: Path,
    admin_token: str,
    upstreams: Mapping[str, str],
    *args: str,
    env: Mapping[str, str] | None = None,
) -> Proc:
    """Spawn the fault proxy (`proxy_command`) without waiting; `proxy_ready` says when it serves.

    The admin token goes in through the environment (`PROXY_TOKEN_ENV`), not the command line.
    """
    full_env = {**(env or {}), PROXY_TOKEN_ENV: admin_token}
    return spawn(proxy_command(port, upstreams, *args), log, env=full_env)


def proxy_ready(port: int) -> Probe:
    """A probe ready when the proxy on 127.0.0.1:``port`` answers /healthz with 200."""
    return http_ok(f"http://{LOCALHOST}:{port}/healthz")
