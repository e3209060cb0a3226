"""Starting each component of the stack through the process layer (`stampede.procs`).

Redis and the toolbox are started by the very functions the tests use (`procs.start_redis_server`;
`procs.spawn_toolbox`, which `procs.start_toolbox` wraps), with the stack's log paths and its
`MARKER_ENV` marker. Redis answers PING within milliseconds, so it is waited for at once; the
toolbox, the fault proxy (``procs.spawn_proxy``, when asked for) and the agent (spawned on our
own listening socket) import for seconds, so they start side by side and
`stampede.stack.health.wait` waits for all of them (the agent calls neither before a request).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path

from stampede import procs
from stampede.errors import HarnessError
from stampede.stack.config import StackConfig
from stampede.stack.shutdown import shutdown_budget
from stampede.stack.state import (
    MARKER_ENV,
    AgentState,
    Draft,
    ProxyState,
    RedisState,
    ToolboxState,
)
from target_agent.vocabulary import TOOLS


def pick_port(name: str, wanted: int) -> int:
    """``wanted`` if it is free (HarnessError if taken), any free port for 0."""
    if not wanted:
        return procs.free_port()
    if not procs.port_is_free(wanted):
        raise HarnessError(f"{name} port {wanted} on {procs.LOCALHOST} is already in use")
    return wanted


def _logs(draft: Draft) -> Path:
    return draft.path.parent / "logs"


def start_redis(
    draft: Draft,
    port: int,
    timeout_s: float,
    executable: str | None = None,
    password: str | None = None,
) -> RedisState:
    """Start the stack's redis-server on ``port`` and wait until it answers PING.

    Clients must AUTH with ``password`` (default: a new random one); it is kept in stack.json
    (mode 0600) and nowhere on a command line.
    """
    exe = executable or procs.redis_executable()
    password = password or secrets.token_urlsafe(24)
    proc = procs.start_redis_server(
        port,
        draft.path.parent / "redis",
        timeout_s=timeout_s,
        log=_logs(draft) / "redis.log",
        env={MARKER_ENV: draft.stack_marker()},
        executable=exe,
        password=password,
    )
    host = procs.LOCALHOST
    return RedisState(
        pid=proc.pid,
        create_time=proc.create_time,
        host=host,
        port=port,
        url=f"redis://{host}:{port}/0",
        executable=exe,
        password=password,
        log=proc.log,
    )


def _uvicorn_options(config: StackConfig) -> list[str]:
    # Longer than the agent's request deadline plus its write-behind flush (stack/shutdown.py).
    graceful = shutdown_budget(config.env, config.graceful_shutdown_s, lenient=True).graceful_s
    return [
        "--loop", config.loop,
        "--timeout-graceful-shutdown", str(graceful),
        "--no-access-log",
        "--log-level", "info",
    ]  # fmt: skip


def spawn_toolbox(draft: Draft, port: int, config: StackConfig) -> ToolboxState:
    """Spawn the stack's toolbox on ``port``; `health.wait` waits for it with the agent."""
    proc = procs.spawn_toolbox(
        port,
        _logs(draft) / "toolbox.log",
        draft.admin_token,
        *_uvicorn_options(config),
        env={MARKER_ENV: draft.stack_marker()},
    )
    url = f"http://{procs.LOCALHOST}:{port}"
    return ToolboxState(
        pid=proc.pid, create_time=proc.create_time, port=port, url=url, log=proc.log
    )


def llm_url(config: StackConfig, toolbox: ToolboxState) -> str:
    """The OpenAI-compatible base URL of the LLM: ``config.llm_base_url``, else the toolbox's."""
    return config.llm_base_url or f"{toolbox.url}/v1"


def proxy_upstreams(config: StackConfig, toolbox: ToolboxState) -> dict[str, str]:
    """The proxy's upstreams: ``llm`` and one ``tool:<name>`` per tool of the reference world."""
    upstreams = {"llm": llm_url(config, toolbox)}
    upstreams.update({f"tool:{name}": f"{toolbox.url}/tools/{name}" for name in TOOLS})
    return upstreams


def spawn_proxy(draft: Draft, port: int, config: StackConfig, toolbox: ToolboxState) -> ProxyState:
    """Spawn the fault proxy on ``port`` with its own admin token (`health.wait` waits for it)."""
    token = secrets.token_urlsafe(24)
    upstreams = proxy_upstreams(config, toolbox)
    proc = procs.spawn_proxy(
        port,
        _logs(draft) / "proxy.log",
        token,
        upstreams,
        env={MARKER_ENV: draft.stack_marker()},
    )
    return ProxyState(
        pid=proc.pid,
        create_time=proc.create_time,
        port=port,
        url=f"http://{procs.LOCALHOST}:{port}",
        admin_token=token,
        upstreams=upstreams,
        log=proc.log,
    )


#: The agent's LangGraph checkpoint database in the state dir (docs/durable.md).
CHECKPOINTS = "checkpoints.sqlite"


def agent_env(
    config: StackConfig,
    redis: RedisState,
    toolbox: ToolboxState,
    prom_dir: Path,
    proxy: ProxyState | None = None,
) -> dict[str, str]:
    """The agent's environment: where Redis, the tools and the LLM are, plus ``config.env``.

    With a ``proxy``, tools and LLM are reached through it (``/tools/<name>``, ``/llm``).
    """
    env = {
        "AGENT_TOOLBOX_URL": proxy.url if proxy else toolbox.url,
        "AGENT_REDIS_URL": redis.client_url,
        "AGENT_LLM_BASE_URL": f"{proxy.url}/llm" if proxy else llm_url(config, toolbox),
        "AGENT_WEAKNESS": config.weakness or "",
        "AGENT_REPLICA": config.replica,
        "PROMETHEUS_MULTIPROC_DIR": str(prom_dir),
        # Shared by the workers (SQLite WAL): a reclaimed job resumes from another worker's
        # checkpoints. One file per stack, beside its state (fresh with each start).
        "AGENT_CHECKPOINT_PATH": str(prom_dir.parent / CHECKPOINTS),
    }
    env.update(config.env)
    return env


def spawn_agent(draft: Draft, config: StackConfig, env: Mapping[str, str]) -> AgentState:
    """Spawn the agent's uvicorn master with ``config.workers`` workers (not waited for)."""
    # Our own listening socket with TCP_NODELAY, handed over with --fd: see procs.listen_socket.
    sock = procs.listen_socket(config.agent_port)
    try:
        port = int(sock.getsockname()[1])
        fd = sock.fileno()
        cmd = procs.uvicorn_command(
            config.agent_app,
            "--fd", str(fd),
            "--workers", str(config.workers),
            # A replacement worker imports the whole agent before it answers uvicorn's health
            # check; under load on 2 cores that takes longer than uvicorn's default 5 s, and a
            # SIGHUP rolling restart is then aborted ("New child process ... was not ready in
            # time"). The same timeout bounds the liveness ping of a hung worker.
            "--timeout-worker-healthcheck", "30",
            *_uvicorn_options(config),
        )  # fmt: skip
        proc = procs.spawn(
            cmd,
            _logs(draft) / "agent.log",
            env={**env, MARKER_ENV: draft.stack_marker()},
            pass_fds=[fd],
        )
    finally:
        sock.close()
    return AgentState(
        pid=proc.pid,
        create_time=proc.create_time,
        port=port,
        url=f"http://{procs.LOCALHOST}:{port}",
        workers=config.workers,
        weakness=env.get("AGENT_WEAKNESS") or None,
        env=dict(env),
        log=proc.log,
    )
