"""FastAPI dependencies: the worker's runtime and admission, as ``Annotated`` aliases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from target_agent.agent.runtime import AgentRuntime
from target_agent.agent.shedding import Admission


def get_runtime(request: Request) -> AgentRuntime:
    runtime: AgentRuntime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[AgentRuntime, Depends(get_runtime)]


async def admit(runtime: RuntimeDep) -> AsyncIterator[Admission]:
    """Admit one investigation or shed it: 503 + ``Retry-After`` (never queued)."""
    admission = runtime.admission
    reason = admission.refusal()
    if reason is not None:
        admission.shed()
        raise HTTPException(
            503,
            detail=f"shed: {reason}",
            headers={
                "Retry-After": str(runtime.settings.shed_retry_after_s),
                "X-Served-By": runtime.settings.replica,
            },
        )
    admission.enter()
    try:
        yield admission
    finally:
        admission.leave()


AdmissionDep = Annotated[Admission, Depends(admit)]
