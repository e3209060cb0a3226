"""Builds the proxy's ASGI app: a raw router in front, FastAPI behind it for the admin routes.

Proxied paths (``/llm/...``, ``/tools/<name>/...``, see ``upstreams``) go straight to
``forward.handle`` with the server's own ``receive``/``send`` (no framework in the hot path;
``faults.asgi`` needs the server's ``receive`` to reset connections). Everything else goes to
the admin app: ``/faults`` (the shared fault API, bearer token), ``/metrics``, ``/healthz``.
The lifespan builds the store, injector, metrics and the pooled session; nothing at import.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError

from faults.api import fault_router, validation_error
from faults.inject import FaultInjector
from faults.model import LLM_TARGET, TOOLS_TARGET
from faults.store import FaultStore
from stampede.proxy import client, forward
from stampede.proxy.config import ProxyConfig
from stampede.proxy.messages import send_body
from stampede.proxy.metrics import ProxyMetrics
from stampede.proxy.upstreams import RouteError, Routes

log = logging.getLogger("stampede.proxy")

NO_TOKEN = "fault API disabled: the proxy has no admin token (--admin-token)"
#: Toolbox fault fields the proxy cannot apply, and what to use instead.
UNSUPPORTED = {
    "lie": "it needs the toolbox's answer key; use json_rules on the proxy",
    "hallucinate": "it needs the toolbox's answer key; use llm_content / llm_tool_arguments",
}

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def fault_targets(routes: Routes) -> tuple[str, ...]:
    """``llm`` if configured, ``tools`` (every tool) when there is a tool, each ``tool:<name>``."""
    targets = [LLM_TARGET] if LLM_TARGET in routes.by_target else []
    tools = routes.tool_targets
    return (*targets, *((TOOLS_TARGET,) if tools else ()), *tools)


def build_proxy(config: ProxyConfig, routes: Routes) -> forward.Proxy:
    """The runtime state for ``config`` (the session is opened here, closed by the lifespan)."""
    store = FaultStore(
        fault_targets(routes),
        config.max_fault_ttl_s,
        ttl_setting="max_fault_ttl_s",
        unsupported=UNSUPPORTED,
    )
    session = client.open_session(
        config.connect_timeout_s, config.read_timeout_s, config.max_connections
    )
    return forward.Proxy(
        routes=routes,
        store=store,
        injector=FaultInjector(store, random.Random(config.seed)),
        metrics=ProxyMetrics(routes.by_target, store),
        session=session,
    )


def _proxy(request: Request) -> forward.Proxy:
    proxy = getattr(request.app.state, "proxy", None)
    if proxy is None:
        raise RuntimeError("proxy state missing: the app's lifespan has not run")
    return proxy


def _store(request: Request) -> FaultStore:
    return _proxy(request).store


def _admin_token(request: Request) -> str:
    token: str = request.app.state.admin_token
    return token


def admin_app(config: ProxyConfig, routes: Routes, holder: dict[str, forward.Proxy]) -> FastAPI:
    """The admin routes; its lifespan builds the proxy into ``holder`` (and ``app.state``)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        proxy = holder["proxy"] = app.state.proxy = build_proxy(config, routes)
        if not config.admin_token:
            log.warning("no admin token: the proxy's fault API answers 401 to everyone")
        log.info(
            "proxy ready on %s:%d: upstreams %s",
            config.host,
            config.port,
            ", ".join(f"{name}={url}" for name, url in config.upstreams.items()),
        )
        try:
            yield
        finally:
            proxy.store.clear_all()
            await proxy.session.close()

    app = FastAPI(title="Stampede fault proxy", lifespan=lifespan)
    app.state.admin_token = config.admin_token
    app.add_exception_handler(RequestValidationError, validation_error)
    app.include_router(
        fault_router(
            _store,
            _admin_token,
            NO_TOKEN,
            logging.getLogger("stampede.proxy.faults"),
        )
    )

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "upstreams": sorted(config.upstreams)}

    @app.get("/metrics")
    async def metrics(request: Request) -> Response:
        rendered = _proxy(request).metrics
        return Response(rendered.render(), media_type=rendered.content_type)

    return app


def create_app(config: ProxyConfig) -> ASGIApp:
    """The proxy: proxied paths forwarded, the rest served by the admin app."""
    holder: dict[str, forward.Proxy] = {}
    routes = Routes(config.upstreams)
    admin = admin_app(config, routes, holder)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            raw_path = scope.get("raw_path") or scope["path"].encode()
            path = raw_path.split(b"?")[0].decode("latin-1")
            try:
                routed = routes.resolve(path)
            except RouteError as exc:
                body = {"detail": exc.message}
                headers = [(b"content-type", b"application/json")]
                await send_body(send, exc.status, headers, json.dumps(body).encode())
                return
            if routed is not None:
                upstream, rest = routed
                await forward.handle(holder["proxy"], upstream, rest, scope, receive, send)
                return
        await admin(scope, receive, send)

    return app
