"""Builds the toolbox app: ``uvicorn target_agent.toolbox.main:app``.

Nothing is read or built at import time: the lifespan reads the settings (``get_settings()``,
or the ``Settings`` passed to ``create_app``) and builds the catalogue, fault store and metrics.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from faults.api import validation_error
from faults.bodylimit import BodyLimit
from target_agent.toolbox.deps import Toolbox
from target_agent.toolbox.routes import faults, health, llm, tools
from target_agent.toolbox.settings import Settings, get_settings

log = logging.getLogger("target_agent.toolbox")


def create_app(settings: Settings | None = None) -> FastAPI:
    """The toolbox app; ``settings`` overrides the environment (tests)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        active = settings or get_settings()
        app.state.toolbox = Toolbox.build(active)
        if not active.admin_token:
            log.warning("TOOLBOX_ADMIN_TOKEN is not set: the fault API answers 401 to everyone")
        log.info(
            "toolbox ready: seed=%d model=%s max_fault_ttl_s=%g",
            active.seed,
            active.model,
            active.max_fault_ttl_s,
        )
        yield
        app.state.toolbox.store.clear_all()

    app = FastAPI(
        title="Stampede toolbox",
        description="Simulated LLM and tools with a fault-injection API.",
        lifespan=lifespan,
    )
    app.add_exception_handler(RequestValidationError, validation_error)
    for module in (health, llm, tools, faults):
        app.include_router(module.router)
    # 413 before any body is parsed (read per request: settings are resolved in the lifespan)
    app.add_middleware(BodyLimit, max_bytes=lambda: app.state.toolbox.settings.max_body_bytes)
    return app


app = create_app()
