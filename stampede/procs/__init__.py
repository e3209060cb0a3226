"""Starting, watching and stopping the local processes Stampede owns (by PID, never by name).

The one process layer of the harness: the local stack, the suite, the tests and the benchmarks
start processes here. Start by argv (`spawn`, `Child`), wait for ready (`wait_ready`, `start`),
stop by identity (`stop`, `Proc`): a process is ``(pid, create_time)``, so a recycled PID is
never signalled. (A short command run to completion under a timeout, e.g. ``git rev-parse``,
is a plain ``subprocess.run``: nothing of it is left to find or stop.)

- `stampede.procs.process`      `Proc`, `spawn`, `stop`, `Child`, `spawn_children`, `tool`
- `stampede.procs.ready`        probes, `wait_ready`, `wait_http_ok`, `ensure_ready`,
                                `start` (spawn + wait; stopped if never ready)
- `stampede.procs.net`          free ports, the agent's listening socket, `http_status`
- `stampede.procs.redis_server` the redis-server command line, `redis_ping`,
                                `start_redis_server`
- `stampede.procs.services`     uvicorn command lines, `spawn_toolbox`, `start_toolbox`,
                                `spawn_proxy` (the fault proxy, `stampede proxy`)
"""

from __future__ import annotations

from stampede.procs.net import (
    LOCALHOST,
    free_port,
    http_status,
    listen_socket,
    port_is_free,
    wait_port_free,
)
from stampede.procs.process import Child, Proc, python_cmd, spawn, spawn_children, stop, tool
from stampede.procs.ready import Probe, ensure_ready, http_ok, start, wait_http_ok, wait_ready
from stampede.procs.redis_server import (
    redis_answers,
    redis_command,
    redis_executable,
    redis_ping,
    redis_version,
    start_redis_server,
)
from stampede.procs.services import (
    PROXY_TOKEN_ENV,
    TOOLBOX_APP,
    proxy_command,
    proxy_ready,
    spawn_proxy,
    spawn_toolbox,
    start_toolbox,
    toolbox_command,
    toolbox_ready,
    uvicorn_command,
)

__all__ = [
    "LOCALHOST",
    "PROXY_TOKEN_ENV",
    "TOOLBOX_APP",
    "Child",
    "Probe",
    "Proc",
    "ensure_ready",
    "free_port",
    "http_ok",
    "http_status",
    "listen_socket",
    "port_is_free",
    "proxy_command",
    "proxy_ready",
    "python_cmd",
    "redis_answers",
    "redis_command",
    "redis_executable",
    "redis_ping",
    "redis_version",
    "spawn",
    "spawn_children",
    "spawn_proxy",
    "spawn_toolbox",
    "start",
    "start_redis_server",
    "start_toolbox",
    "stop",
    "tool",
    "toolbox_command",
    "toolbox_ready",
    "uvicorn_command",
    "wait_http_ok",
    "wait_port_free",
    "wait_ready",
]
