"""The verifier over catalogue evidence: the truth passes, lies and gaps degrade."""

from __future__ import annotations

import pytest

from target_agent.agent.verifier import Claim, parse_claim, verify
from target_agent.toolbox.catalogue import PLAYBOOK, Incident, catalogue, lying_evidence


def planned(incident_alert_type: str) -> list[str]:
    return list(PLAYBOOK[incident_alert_type])


@pytest.mark.parametrize("incident", catalogue(), ids=lambda i: i.service)
def test_true_cause_with_all_evidence_is_complete(incident: Incident) -> None:
    inc = incident
    tools = planned(inc.alert_type)
    evidence = {tool: inc.evidence[tool] for tool in tools}
    verdict = verify(tools, evidence, [], Claim(inc.root_cause, tuple(inc.supporting_tools())))
    assert (verdict.status, verdict.root_cause) == ("complete", inc.root_cause)


def test_missing_evidence_degrades_and_lists_the_tool() -> None:
    inc = catalogue()[0]
    tools = planned(inc.alert_type)
    evidence = {tool: inc.evidence[tool] for tool in tools[1:]}
    verdict = verify(tools, evidence, [], Claim(inc.root_cause, tuple(inc.supporting_tools())))
    assert verdict.status == "degraded" and verdict.root_cause is None
    assert verdict.suspected_root_cause == inc.root_cause
    assert tools[0] in verdict.missing_evidence


@pytest.mark.parametrize("incident", catalogue(), ids=lambda i: i.service)
def test_one_lying_tool_never_yields_a_complete_answer(incident: Incident) -> None:
    inc = incident
    tools = planned(inc.alert_type)
    for liar in tools:
        evidence = {t: inc.evidence[t] for t in tools}
        evidence[liar] = lying_evidence(inc, liar)
        for claim in (Claim(inc.decoy_cause, (liar,)), Claim(inc.root_cause, tuple(tools))):
            assert verify(tools, evidence, [], claim).status == "degraded"


def test_hallucinated_cause_citing_everything_is_degraded() -> None:
    inc = catalogue()[0]
    tools = planned(inc.alert_type)
    evidence = {tool: inc.evidence[tool] for tool in tools}
    verdict = verify(tools, evidence, [], Claim(inc.decoy_cause, tuple(tools)))
    assert verdict.status == "degraded" and verdict.root_cause is None
    assert verdict.suspected_root_cause == inc.decoy_cause
    assert verdict.missing_evidence == tools


def test_trust_claim_returns_whatever_the_llm_said() -> None:
    inc = catalogue()[0]
    tools = planned(inc.alert_type)
    evidence = {tool: inc.evidence[tool] for tool in tools}
    verdict = verify(tools, evidence, [], Claim(inc.decoy_cause, tuple(tools)), trust_claim=True)
    assert (verdict.status, verdict.root_cause) == ("complete", inc.decoy_cause)


def test_stale_evidence_counts_and_is_listed() -> None:
    inc = catalogue()[0]
    tools = planned(inc.alert_type)
    evidence = {tool: inc.evidence[tool] for tool in tools}
    claim = Claim(inc.root_cause, tuple(inc.supporting_tools()))
    verdict = verify(tools, evidence, [tools[0]], claim)
    assert verdict.status == "complete" and verdict.stale_evidence == [tools[0]]


@pytest.mark.parametrize(
    ("content", "cause"),
    [
        ('{"root_cause": "x", "cited_evidence": ["a"], "explanation": "e"}', "x"),
        ('```json\n{"root_cause": null, "cited_evidence": []}\n```', None),
        ([{"type": "text", "text": '{"root_cause": "y"}'}], "y"),
    ],
    ids=["plain", "fenced-null", "content-blocks"],
)
def test_parse_claim(content: object, cause: str | None) -> None:
    claim = parse_claim(content)
    assert claim is not None and claim.root_cause == cause


@pytest.mark.parametrize(
    "content", ["not json", "[1, 2]", '{"root_cause": 3}', '{"cited_evidence": "a"}', None]
)
def test_unparseable_claims_are_none(content: object) -> None:
    assert parse_claim(content) is None
