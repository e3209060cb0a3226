"""The agent's ASGI app (``target_agent.agent.main:app``): wiring only.

The lifespan builds the worker's runtime (clients, breakers, graph, store, flusher) and closes
it; routers come from ``routes/``. ``create_app(settings)`` lets tests and the benchmark run
the app in-process with their own settings (``app.dependency_overrides[get_settings]`` works
too). Validation errors are 422 even for undecodable bodies; a last-resort handler turns an
unexpected exception into a 503 with a detail: the contract says never 500.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from faults.bodylimit import BodyLimit
from target_agent.agent.jobs import Jobs
from target_agent.agent.routes import durable, health, investigations
from target_agent.agent.runtime import AgentRuntime
from target_agent.agent.settings import Settings, get_settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        provider = app.dependency_overrides.get(get_settings, get_settings)
        resolved = settings if settings is not None else provider()
        if settings is not None:
            app.dependency_overrides[get_settings] = lambda: settings
        runtime = await AgentRuntime.start(resolved)
        app.state.runtime = runtime
        app.state.jobs = None
        try:
            if resolved.jobs_enabled:  # durable investigations (routes/durable.py)
                app.state.jobs = await Jobs.start(runtime)
            yield
        finally:
            if app.state.jobs is not None:
                await app.state.jobs.stop()
            await runtime.stop()

    app = FastAPI(
        title="Stampede reference agent",
        summary="Investigates alerts with an LLM and tools; answers honestly when degraded.",
        lifespan=lifespan,
    )
    app.include_router(durable.router)  # first: its GET /investigations/{id} serves both kinds
    app.include_router(investigations.router)
    app.include_router(health.router)
    # 413 before any body is parsed (read per request: settings are resolved in the lifespan)
    app.add_middleware(BodyLimit, max_bytes=lambda: app.state.runtime.settings.max_body_bytes)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own handler echoes the input, and two inputs make that echo fail -> 500:
        # a non-UTF-8 body (bytes: UnicodeDecodeError) and a bare `Infinity`/`NaN` body (JSON
        # cannot carry them: ValueError). Encode both leniently instead.
        detail = jsonable_encoder(
            exc.errors(),
            custom_encoder={
                bytes: lambda b: b.decode("utf-8", "replace"),
                float: lambda f: f if math.isfinite(f) else str(f),
            },
        )
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
        return JSONResponse(
            {"detail": f"unavailable: unexpected {type(exc).__name__}"},
            status_code=503,
            headers={"Retry-After": "1"},
        )

    return app


app = create_app()
