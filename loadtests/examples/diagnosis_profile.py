"""Example target profile for a hypothetical agent that answers ``{"diagnosis": ...}``.

The agent (not part of Stampede) takes ``POST /v1/diagnose`` with
``{"question": str, "alert": {...}}`` and answers::

    {"diagnosis": {"cause": "oom_killed", "confidence": 0.92} | null,
     "gaps": ["logs unavailable"],
     "usage": {"total_tokens": 812, "cost": 0.0009}}

``diagnosis: null`` or a confidence below 0.5 is an honest "I am not sure" (degraded). Select it
with ``--stampede-profile loadtests.examples.diagnosis_profile:PROFILE``.
"""

from __future__ import annotations

from typing import Any

from loadtests.profile import Answer, MalformedAnswer, Reply, RequestSpec, TargetProfile
from stampede.cases import Case


class DiagnosisProfile(TargetProfile):
    name = "diagnosis"
    path = "/v1/diagnose"
    lookup_path = None  # this agent keeps no answers: no look-up requests
    replica_header = "X-Pod-Name"
    min_confidence = 0.5

    def build(self, case: Case, key: str) -> RequestSpec:
        question = f"Why is {case.input['service']} alerting {case.input['alert_type']}?"
        return RequestSpec(
            "POST",
            self.path,
            "POST /v1/diagnose",
            json={"question": question, "alert": dict(case.input)},
            headers={"X-Request-Id": key},
        )

    def read(self, data: Any, reply: Reply) -> Answer:
        if not isinstance(data, dict) or "diagnosis" not in data:
            raise MalformedAnswer("missing field 'diagnosis'")
        diagnosis = data["diagnosis"]
        usage = data.get("usage") or {}
        confident = (
            isinstance(diagnosis, dict)
            and isinstance(diagnosis.get("cause"), str)
            and float(diagnosis.get("confidence", 0)) >= self.min_confidence
        )
        return Answer(
            status="complete" if confident else "degraded",
            # a low-confidence hypothesis is not a claim: it cannot be "wrong"
            root_cause=diagnosis["cause"] if confident else None,
            tokens=usage.get("total_tokens"),
            cost_usd=usage.get("cost"),
            retries=None,  # unknown: this agent does not say
            replica=reply.header(self.replica_header),
            missing_evidence=tuple(data.get("gaps") or ()),
        )


PROFILE = DiagnosisProfile()
