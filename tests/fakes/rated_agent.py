"""A fake agent whose behaviour per request is drawn with configured rates (for measurement tests).

A real uvicorn app with a free-text API that only a declarative profile and a case file can
drive (``tests/fakes/rated_profile.yaml``)::

    POST /v2/query {"prompt": "<the case's question>", "conversation": "<any>"}
      200 {"reply": {"text": "..."}, "meta": {"state": "final" | "incomplete",
                                              "tokens": 120, "ref": "<answer id>"}}
      429 + Retry-After: 1        shed
      500 {"fault": "injected"}   error
    GET /v2/stats   what was drawn so far: {"drawn": {"correct": n, ...}, "by_case": {...}}
    GET /healthz

Configuration: ``RATED_AGENT_CONFIG`` is a JSON file::

    {"cases": "path/to/cases.yaml", "seed": 7, "schedule": "iid",
     "rates": {"wrong": 0.1, "partial": 0.1, "error": 0.05, "shed": 0.05},
     "case_success": {"case-a": 0.9, "case-b": 0.5}}

The fake knows the right answer of each question from the case file (the case's label). Per
request it gives one of ``shed``, ``error``, ``wrong``, ``partial`` with the given rates (the
rest ``correct``); a case listed in ``case_success`` is instead answered correctly with that
probability and wrongly otherwise (pass^k tests). How (``tests/fakes/schedule.py``):

- ``schedule: iid`` (the default): one seeded RNG, drawn in request order, so a run of
  sequential requests is reproducible; counts are binomial (the pass^k tests need that).
- ``schedule: even``: deterministic by arrival count (one counter for the rates, one per
  ``case_success`` case): after any N arrivals each outcome's count is within
  ``[N r - 3.2, N r + 0.8]`` (five outcomes; two for a ``case_success`` case: ``[N p - 0.5,
  N p + 0.5]``), whatever the arrival order. A test of rates then checks the measurement, not
  the luck of a seed.

Start: ``RATED_AGENT_CONFIG=cfg.json uvicorn tests.fakes.rated_agent:app --port P``.
"""

from __future__ import annotations

import json
import os
import random
import threading
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from stampede.cases import Case, load_cases
from tests.fakes.schedule import EvenSchedule, IidSchedule, Schedule

KINDS = ("shed", "error", "wrong", "partial")


class Rates(BaseModel):
    wrong: Annotated[float, Field(ge=0, le=1)] = 0.0
    partial: Annotated[float, Field(ge=0, le=1)] = 0.0
    error: Annotated[float, Field(ge=0, le=1)] = 0.0
    shed: Annotated[float, Field(ge=0, le=1)] = 0.0


class Config(BaseModel):
    cases: str
    seed: int = 0
    schedule: Literal["iid", "even"] = "iid"
    rates: Rates = Rates()
    case_success: dict[str, Annotated[float, Field(ge=0, le=1)]] = {}


@dataclass
class World:
    """The fake's state: the right answers, the schedules and what was given."""

    config: Config
    answers: dict[str, Case]
    #: the schedule of the configured rates, and one per ``case_success`` case
    rates: Schedule
    per_case: dict[str, Schedule]
    lock: threading.Lock = field(default_factory=threading.Lock)
    drawn: Counter[str] = field(default_factory=Counter)
    by_case: dict[str, Counter[str]] = field(default_factory=dict)

    def draw(self, case: Case) -> str:
        """The behaviour of the next request about ``case``."""
        with self.lock:
            kind = self.per_case.get(case.id, self.rates).next()
            self.drawn[kind] += 1
            self.by_case.setdefault(case.id, Counter())[kind] += 1
            return kind


def _schedules(config: Config) -> tuple[Schedule, dict[str, Schedule]]:
    """The rates' schedule and the per-case ones; the iid ones share one RNG (request order)."""
    rates = {k: getattr(config.rates, k) for k in KINDS}
    rates["correct"] = max(0.0, 1 - sum(rates.values()))
    per_case = {c: {"correct": p, "wrong": 1 - p} for c, p in config.case_success.items()}
    if config.schedule == "even":
        return EvenSchedule(rates), {c: EvenSchedule(r) for c, r in per_case.items()}
    rng = random.Random(config.seed)
    return IidSchedule(rates, rng), {c: IidSchedule(r, rng) for c, r in per_case.items()}


def load_world(path: Path) -> World:
    """The world of config file ``path``; cases need ``input.prompt`` and ``expect.label``."""
    config = Config.model_validate(json.loads(path.read_text()))
    total = sum(getattr(config.rates, k) for k in KINDS)
    if total > 1:
        raise ValueError(f"{path}: rates add up to {total:g} > 1")
    answers = {}
    for case in load_cases(config.cases):
        if "prompt" not in case.input or case.expect.label is None:
            raise ValueError(f"{case.where()}: the rated agent needs input.prompt and a label")
        answers[str(case.input["prompt"])] = case
    return World(config, answers, *_schedules(config))


class Query(BaseModel):
    prompt: str
    conversation: str | None = None


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.world = load_world(Path(os.environ["RATED_AGENT_CONFIG"]))
    yield


app = FastAPI(title="rated fake agent", lifespan=lifespan)


def _world(request: Request) -> World:
    world: World = request.app.state.world
    return world


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/v2/stats")
async def stats(request: Request) -> dict[str, Any]:
    world = _world(request)
    return {"drawn": dict(world.drawn), "by_case": {k: dict(v) for k, v in world.by_case.items()}}


@app.post("/v2/query", response_model=None)
async def query(body: Query, request: Request) -> dict[str, Any] | JSONResponse:
    world = _world(request)
    case = world.answers.get(body.prompt)
    if case is None:
        raise HTTPException(404, detail=f"unknown prompt {body.prompt!r}")
    kind = world.draw(case)
    if kind == "shed":
        return JSONResponse({"busy": True}, status_code=429, headers={"Retry-After": "1"})
    if kind == "error":
        return JSONResponse({"fault": "injected"}, status_code=500)
    label = case.expect.label or ""
    text = {
        "correct": f"After checking, the answer is {label}.",
        "wrong": "After checking, the answer is zzzz-not-it.",
        "partial": "I could not finish looking this up.",
    }[kind]
    state = "incomplete" if kind == "partial" else "final"
    return {
        "reply": {"text": text},
        "meta": {"state": state, "tokens": 100 + len(text), "ref": uuid.uuid4().hex},
    }
