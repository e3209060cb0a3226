"""The simulated tools: answers from the incident catalogue, honest or lying."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from target_agent.toolbox.catalogue import Incident, lying_evidence


class ToolRequest(BaseModel):
    """Body of ``POST /tools/{name}``; extra arguments an LLM may add are ignored."""

    model_config = ConfigDict(extra="ignore")

    service: str = Field(min_length=1, max_length=200)


def tool_answer(incident: Incident, tool: str, lie: bool, observed_at: float) -> dict[str, Any]:
    """What ``tool`` reports about ``incident``'s service; a lying tool backs the decoy cause."""
    evidence = lying_evidence(incident, tool) if lie else incident.evidence[tool]
    return {
        "tool": tool,
        "service": incident.service,
        "data": evidence["data"],
        "findings": evidence["findings"],
        "observed_at": observed_at,
    }
