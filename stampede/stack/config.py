"""What ``up`` starts: `StackConfig`, validated field by field (InputError naming the field)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from stampede.errors import InputError
from stampede.stack.state import default_state_dir
from target_agent.agent.weaknesses import WEAKNESSES

AGENT_APP = "target_agent.agent.main:app"
LOOPS = ("auto", "asyncio", "uvloop")
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_port(name: str, port: int) -> None:
    if not 0 <= port <= 65535:
        raise InputError(f"{name}: {port} is not a TCP port (0-65535, 0 = any free port)")


@dataclass(frozen=True)
class StackConfig:
    """What ``up`` starts. Ports 0 mean "any free port"; ``env`` extras override the defaults.

    ``agent_app`` is the ASGI app run as the agent (``module:attribute``, importable from the
    current directory): any agent with ``/readyz`` can be put under the stack. ``loop`` is
    uvicorn's ``--loop``: with ``asyncio`` the ``--fd`` socket is what avoids the Nagle floor
    (uvloop sets TCP_NODELAY on accepted sockets itself).

    ``proxy``: run the fault proxy (``stampede proxy``) between the agent and the toolbox (its
    LLM upstream is ``llm_base_url`` or the toolbox's ``/v1``); the agent is pointed at it.
    """

    state_dir: Path = field(default_factory=default_state_dir)
    workers: int = 2
    agent_port: int = 0
    toolbox_port: int = 0
    redis_port: int = 0
    proxy: bool = False
    proxy_port: int = 0
    weakness: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    replica: str = "local"
    llm_base_url: str = ""
    restart: bool = False
    #: At least this many seconds of graceful shutdown; never less than the agent needs
    #: (its request deadline plus its write-behind flush: `stampede.stack.shutdown`).
    graceful_shutdown_s: int = 0
    ready_timeout_s: float = 90.0
    agent_app: str = AGENT_APP
    loop: str = "auto"

    def validate(self) -> None:
        """Raise InputError naming the first bad field."""
        if not 1 <= self.workers <= 64:
            raise InputError(f"--workers: {self.workers} is not between 1 and 64")
        self._validate_ports()
        if self.weakness and self.weakness not in WEAKNESSES:
            raise InputError(
                f"--weakness: unknown weakness {self.weakness!r} "
                f"(expected one of: {', '.join(WEAKNESSES)})"
            )
        for key in self.env:
            if not _ENV_KEY.match(key):
                raise InputError(f"--env: {key!r} is not a valid environment variable name")
        if ":" not in self.agent_app:
            raise InputError(f"--agent-app: {self.agent_app!r} is not 'module:attribute'")
        if self.loop not in LOOPS:
            raise InputError(f"--loop: {self.loop!r} is not one of {', '.join(LOOPS)}")
        if self.graceful_shutdown_s < 0:
            raise InputError("graceful_shutdown_s must be >= 0")

    def _validate_ports(self) -> None:
        ports = {
            "--agent-port": self.agent_port,
            "--toolbox-port": self.toolbox_port,
            "--redis-port": self.redis_port,
            "--proxy-port": self.proxy_port,
        }
        for name, port in ports.items():
            _check_port(name, port)
        if self.proxy_port and not self.proxy:
            raise InputError(f"--proxy-port: {self.proxy_port} given without --proxy")
        chosen = [p for p in ports.values() if p]
        if len(chosen) != len(set(chosen)):
            raise InputError(
                f"ports must differ: agent, toolbox, redis and proxy ports are {chosen}"
            )
