"""The toolbox's runtime state (built in the lifespan) and the FastAPI dependencies on it."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from faults.inject import FaultInjector
from faults.store import FaultStore
from target_agent.toolbox.catalogue import Incident, catalogue
from target_agent.toolbox.metrics import ToolboxMetrics
from target_agent.toolbox.settings import Settings
from target_agent.toolbox.targets import fault_store

NO_TOKEN = "fault API disabled: TOOLBOX_ADMIN_TOKEN is not set"


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
        store = fault_store(settings.max_fault_ttl_s)
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


def get_store(request: Request) -> FaultStore:
    return get_toolbox(request).store


def get_admin_token(request: Request) -> str:
    return get_toolbox(request).settings.admin_token
