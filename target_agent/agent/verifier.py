"""The verifier: a claim is only ``complete`` when successful evidence backs it.

Pure functions over the plan, the tool results and the LLM's claim. ``complete`` requires:

1. every planned tool returned evidence (fresh or stale);
2. the claimed root cause is supported by findings of >= 2 distinct tools with evidence;
3. no tool with evidence supports a different cause;
4. every tool the LLM cites supports the claim.

Otherwise the answer is ``degraded``: ``root_cause`` null, the LLM's claim kept as
``suspected_root_cause``, and ``missing_evidence`` listing the failed, contradicting and
wrongly cited tools. This leans on the catalogue's guarantee (true cause backed by >= 2 planned
tools, no planned tool backing another cause): with all evidence in, the truth always passes,
and one lying tool or a hallucinating LLM can never produce a complete wrong answer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MIN_SUPPORTING_TOOLS = 2


@dataclass(frozen=True)
class Claim:
    """What the reasoner said."""

    root_cause: str | None
    cited: tuple[str, ...] = ()
    explanation: str = ""


@dataclass(frozen=True)
class Verdict:
    status: str  # "complete" | "degraded"
    root_cause: str | None
    suspected_root_cause: str | None
    missing_evidence: list[str] = field(default_factory=list)
    stale_evidence: list[str] = field(default_factory=list)


def supported_causes(evidence: Mapping[str, Any]) -> set[str]:
    """The causes a tool answer's findings support."""
    causes = set()
    for finding in evidence.get("findings") or ():
        if isinstance(finding, Mapping):
            cause = finding.get("supports")
            if isinstance(cause, str) and cause:
                causes.add(cause)
    return causes


def parse_claim(content: Any) -> Claim | None:
    """The reasoner's JSON answer as a Claim; None when it is not the expected shape."""
    if isinstance(content, list):  # content blocks
        content = "".join(
            block.get("text", "") if isinstance(block, Mapping) else str(block) for block in content
        )
    if not isinstance(content, str):
        return None
    text = content.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, Mapping):
        return None
    cause = data.get("root_cause")
    if cause is not None and not isinstance(cause, str):
        return None
    cited_raw = data.get("cited_evidence") or []
    if not isinstance(cited_raw, list):
        return None
    cited = tuple(str(tool) for tool in cited_raw)
    explanation = data.get("explanation")
    return Claim(cause or None, cited, explanation if isinstance(explanation, str) else "")


def verify(
    planned: Sequence[str],
    evidence: Mapping[str, Mapping[str, Any]],
    stale: Sequence[str],
    claim: Claim | None,
    trust_claim: bool = False,
) -> Verdict:
    """Judge ``claim`` against ``evidence`` (tool -> answer, for the tools that answered).

    ``trust_claim`` is the ``trust_tools`` weakness: the claim is returned as complete.
    """
    failed = [tool for tool in planned if tool not in evidence]
    stale_list = [tool for tool in planned if tool in stale and tool in evidence]
    cause = claim.root_cause if claim is not None else None
    if cause is None:
        return Verdict("degraded", None, None, failed, stale_list)
    if trust_claim:
        return Verdict("complete", cause, cause, failed, stale_list)

    supports = {tool: supported_causes(answer) for tool, answer in evidence.items()}
    supporters = [tool for tool in planned if cause in supports.get(tool, ())]
    contradicting = [tool for tool in planned if supports.get(tool, set()) - {cause}]
    cited = claim.cited if claim is not None else ()
    wrongly_cited = [tool for tool in cited if cause not in supports.get(tool, ())]
    ok = (
        not failed
        and len(supporters) >= MIN_SUPPORTING_TOOLS
        and not contradicting
        and not wrongly_cited
    )
    if ok:
        return Verdict("complete", cause, cause, [], stale_list)
    missing: list[str] = []
    for tool in [*failed, *contradicting, *wrongly_cited]:
        if tool not in missing:
            missing.append(tool)
    return Verdict("degraded", None, cause, missing, stale_list)
