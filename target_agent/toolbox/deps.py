"""The toolbox's runtime state (built in the lifespan) and the FastAPI dependencies on it."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from target_agent.toolbox.catalogue import Incident, catalogue
from target_agent.toolbox.faults import FaultStore
from target_agent.toolbox.injection import FaultInjector
from target_agent.toolbox.metrics import ToolboxMetrics
from target_agent.toolbox.settings import Settings

NO_TOKEN = "fault API disabled: TOOLBOX_ADMIN_TOKEN is not set"
BAD_TOKEN = "missing or invalid bearer token"


@dataclass(frozen=True)
class Toolbox:
    """Everything a request handler needs; one per app, built by the lifespan."""

    settings: Settings
    incidents: dict[str, Incident]
    store: FaultStore
    injector: FaultInjector
    metrics: ToolboxMetrics

    @classmethod
    def build(cls, settings: Settings) -> Toolbox:
        store = FaultStore(settings.max_fault_ttl_s)
        return cls(
            settings=settings,
            incidents={incident.service: incident for incident in catalogue(settings.seed)},
            store=store,
            injector=FaultInjector(store, random.Random(settings.seed)),
            metrics=ToolboxMetrics(),
        )


def get_toolbox(request: Request) -> Toolbox:
    toolbox = getattr(request.app.state, "toolbox", None)
    if toolbox is None:
        raise RuntimeError("toolbox state missing: the app's lifespan has not run")
    return toolbox


ToolboxDep = Annotated[Toolbox, Depends(get_toolbox)]


def require_admin(
    toolbox: ToolboxDep, authorization: Annotated[str | None, Header()] = None
) -> None:
    """Let the call through only with ``Authorization: Bearer <TOOLBOX_ADMIN_TOKEN>``."""
    expected = toolbox.settings.admin_token
    challenge = {"WWW-Authenticate": "Bearer"}
    if not expected:
        raise HTTPException(401, detail=NO_TOKEN, headers=challenge)
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(
        given.strip().encode(), expected.encode()
    ):
        raise HTTPException(401, detail=BAD_TOKEN, headers=challenge)
