"""How long the stack lets the agent shut down, computed from the agent's own settings.

Two relations, each computed here rather than written as two literals that drift apart::

    request deadline + write-behind flush + margin  <=  uvicorn --timeout-graceful-shutdown
    graceful shutdown + write-behind flush + margin <=  SIGTERM -> SIGKILL wait of `down`

On SIGTERM (``down``, or the SIGHUP rolling restart retiring a worker) uvicorn stops accepting
and waits up to ``--timeout-graceful-shutdown`` for in-flight requests — each bounded by the
agent's request deadline — then runs the lifespan shutdown, whose write-behind flush is bounded
by ``AGENT_SHUTDOWN_FLUSH_S``. ``down`` waits for both before it SIGKILLs. The agent states its
own need (:attr:`target_agent.agent.settings.Settings.graceful_shutdown_s`); the settings are
the ones the agent process will read: this environment plus the stack's ``--env`` extras.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import ValidationError

from stampede.errors import InputError
from target_agent.agent.settings import Settings

logger = logging.getLogger(__name__)

PREFIX = "AGENT_"
#: Slack between the end of the agent's own shutdown and the SIGKILL.
STOP_MARGIN_S = 5.0


@dataclass(frozen=True)
class ShutdownBudget:
    """``graceful_s``: uvicorn's ``--timeout-graceful-shutdown``; ``stop_s``: SIGTERM -> SIGKILL."""

    graceful_s: int
    stop_s: float


def agent_settings(env: Mapping[str, str]) -> Settings:
    """The agent's settings from this process's environment overlaid with ``env`` (AGENT_*).

    InputError naming the variable when one is invalid.
    """
    overrides = {
        key[len(PREFIX) :].lower(): value
        for key, value in env.items()
        if key.startswith(PREFIX) and key[len(PREFIX) :]
    }
    try:
        return Settings(**overrides)  # type: ignore[arg-type]  # strings, as from the environment
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = "_".join(str(part) for part in first["loc"]).upper()
        name = PREFIX + loc if loc else "AGENT_* settings"
        raise InputError(f"agent environment: {name}: {first['msg']}") from exc


def shutdown_budget(
    env: Mapping[str, str] | None = None, at_least_s: int = 0, *, lenient: bool = False
) -> ShutdownBudget:
    """The shutdown timeouts for an agent started with ``env`` (default: none beyond ours).

    ``at_least_s`` raises the graceful timeout (never lowers it below what the agent needs).
    InputError when the agent's settings are invalid, unless ``lenient``: then the agent's
    defaults are used (the agent itself will refuse to start and say why in its log; another
    ``--agent-app`` may give AGENT_* variables other meanings).
    """
    try:
        settings = agent_settings(env if env is not None else {})
    except InputError as exc:
        if not lenient:
            raise
        logger.warning("%s; shutdown timeouts from the agent's defaults", exc)
        settings = Settings.model_construct()
    graceful = max(settings.graceful_shutdown_s, at_least_s)
    stop = math.ceil(graceful + settings.shutdown_flush_s + STOP_MARGIN_S)
    return ShutdownBudget(graceful_s=graceful, stop_s=float(stop))
