"""The helpdesk's tool service: ``lookup_service`` and ``get_oncall`` over HTTP.

A small FastAPI app answering from a knowledge file (``HELPDESK_KNOWLEDGE``, default
``knowledge.yaml`` beside this module). The agent reaches it through ``HELPDESK_TOOLS_URL``, so
a fault proxy (or a lying copy of this service with another knowledge file) can sit in between.

    POST /tools/lookup_service  {"name": "checkout"} -> {"name", "status", "owner", ...}
    POST /tools/get_oncall      {"team": "payments"} -> {"team", "primary", "secondary"}

Unknown names answer 404 with ``{"detail": "no service 'x'"}``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import yaml
from fastapi import Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel, Field

DEFAULT_KNOWLEDGE = Path(__file__).with_name("knowledge.yaml")


class Service(BaseModel):
    """One service the helpdesk knows."""

    status: str
    owner: str
    version: str
    p95_latency_ms: float
    incident: str | None = None


class OnCall(BaseModel):
    """Who is on call for one team."""

    primary: str
    secondary: str


class Knowledge(BaseModel):
    """The whole knowledge file."""

    services: dict[str, Service]
    oncall: dict[str, OnCall]


def load_knowledge(path: Path) -> Knowledge:
    """Read and validate a knowledge file; raises ValueError naming the file."""
    try:
        data = yaml.safe_load(path.read_text())
        return Knowledge.model_validate(data)
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ValueError(f"{path}: not a helpdesk knowledge file: {exc}") from exc


class LookupService(BaseModel):
    name: str = Field(min_length=1)


class GetOncall(BaseModel):
    team: str = Field(min_length=1)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    path = Path(os.environ.get("HELPDESK_KNOWLEDGE") or DEFAULT_KNOWLEDGE)
    app.state.knowledge = load_knowledge(path)
    yield


def get_knowledge(request: Request) -> Knowledge:
    knowledge: Knowledge = request.app.state.knowledge
    return knowledge


KnowledgeDep = Annotated[Knowledge, Depends(get_knowledge)]

app = FastAPI(title="helpdesk tools", lifespan=lifespan)


def _key(text: str) -> str:
    return text.strip().lower().removesuffix(" team").strip()


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/tools/lookup_service")
async def lookup_service(body: LookupService, knowledge: KnowledgeDep) -> dict[str, Any]:
    """A service's status, owner team, version, p95 latency and open incident."""
    name = _key(body.name)
    service = knowledge.services.get(name)
    if service is None:
        raise HTTPException(404, detail=f"no service {body.name!r}")
    return {"name": name, **service.model_dump()}


@app.post("/tools/get_oncall")
async def get_oncall(body: GetOncall, knowledge: KnowledgeDep) -> dict[str, Any]:
    """The primary and secondary on call for a team."""
    team = _key(body.team)
    oncall = knowledge.oncall.get(team)
    if oncall is None:
        raise HTTPException(404, detail=f"no team {body.team!r}")
    return {"team": team, **oncall.model_dump()}
