"""Fixtures of the durable-investigation tests: the agent tests' Redis and toolbox."""

from __future__ import annotations

from tests.target_agent.agent.conftest import (  # noqa: F401  (fixtures)
    anyio_backend,
    shared_redis,
    shared_toolbox,
    toolbox,
)
