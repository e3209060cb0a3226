"""The fault API: set, list and clear faults (``Authorization: Bearer <admin token>``)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Depends, HTTPException

from target_agent.toolbox.deps import ToolboxDep, require_admin
from target_agent.toolbox.faults import FaultSpec, InvalidFault, UnknownTarget

log = logging.getLogger("target_agent.toolbox.faults")

router = APIRouter(prefix="/faults", tags=["faults"], dependencies=[Depends(require_admin)])


@router.get("")
async def list_faults(toolbox: ToolboxDep) -> dict[str, Any]:
    """Every unexpired fault with its ``expires_at`` (epoch seconds)."""
    return {"faults": {target: fault.as_dict() for target, fault in toolbox.store.active().items()}}


@router.put("/{target}")
async def put_fault(target: str, spec: FaultSpec, toolbox: ToolboxDep) -> dict[str, Any]:
    """Set (replace) the fault on ``target``: ``llm``, ``tools`` or ``tool:<name>``."""
    try:
        fault = toolbox.store.put(target, spec)
    except UnknownTarget as exc:
        raise HTTPException(404, detail=str(exc)) from exc
    except InvalidFault as exc:
        raise HTTPException(422, detail=str(exc)) from exc
    log.info("fault set on %s: %s", target, spec.model_dump(exclude_defaults=True))
    return {"target": target, **fault.as_dict()}


@router.delete("/{target}")
async def clear_fault(target: str, toolbox: ToolboxDep) -> dict[str, list[str]]:
    """Clear the fault on ``target`` (idempotent: nothing set -> ``cleared: []``)."""
    try:
        cleared = toolbox.store.clear(target)
    except UnknownTarget as exc:
        raise HTTPException(404, detail=str(exc)) from exc
    log.info("fault cleared on %s", target)
    return {"cleared": cleared}


@router.delete("")
async def clear_faults(toolbox: ToolboxDep) -> dict[str, list[str]]:
    """Clear every fault."""
    cleared = toolbox.store.clear_all()
    log.info("all faults cleared: %s", cleared)
    return {"cleared": cleared}
