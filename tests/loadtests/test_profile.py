"""Classification of replies into correct / degraded / wrong / shed / error (reference profile)."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from loadtests.declarative import DeclarativeProfile
from loadtests.examples.diagnosis_profile import PROFILE as DIAGNOSIS
from loadtests.examples.diagnosis_profile import DiagnosisProfile
from loadtests.profile import (
    OUTCOMES,
    Answer,
    Attempt,
    ProfileError,
    Reply,
    RequestSpec,
    TargetProfile,
    Verdict,
    case_picker,
    fast_constructor,
    load_case_set,
    loads,
)
from loadtests.select import load_profile
from stampede.cases import reference_cases
from stampede.contract import Outcome
from stampede.errors import InputError
from stampede.judges import answer_key
from target_agent.toolbox.catalogue import catalogue

INCIDENT = catalogue()[0]
CASE = reference_cases()[0]
TRUE = INCIDENT.root_cause
DECOY = INCIDENT.decoy_cause
PROFILE = TargetProfile()


def answer(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "investigation_id": "inv-1",
        "status": "complete",
        "root_cause": TRUE,
        "suspected_root_cause": None,
        "evidence": {},
        "missing_evidence": [],
        "stale_evidence": [],
        "tokens": 321,
        "cost_usd": 0.0004,
        "retries": 2,
        "replica": "pod-a",
        "alert": INCIDENT.alert(),
    }
    body.update(overrides)
    return body


def ok(body: Any, **headers: str) -> Reply:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Reply(200, raw, {k.lower().replace("_", "-"): v for k, v in headers.items()})


def without(key: str) -> dict[str, Any]:
    body = answer()
    del body[key]
    return body


CASES: list[tuple[str, Reply, str, str]] = [
    # id, reply, expected outcome, expected text in reason
    ("complete-right-cause", ok(answer()), "correct", ""),
    ("complete-other-cause", ok(answer(root_cause=DECOY)), "wrong",
     f"root cause '{DECOY}' != expected '{TRUE}'"),
    ("degraded-null-cause", ok(answer(status="degraded", root_cause=None,
                                      suspected_root_cause=DECOY,
                                      missing_evidence=["get_logs"])),
     "degraded", "missing get_logs"),
    ("degraded-claims-other-cause", ok(answer(status="degraded", root_cause=DECOY)), "wrong",
     f"root cause '{DECOY}' != expected '{TRUE}'"),
    ("degraded-claims-true-cause", ok(answer(status="degraded", root_cause=TRUE)), "degraded",
     "degraded"),
    ("complete-without-cause", ok(answer(root_cause=None)), "error", "without a root cause"),
    ("429-with-retry-after", Reply(429, b"{}", {"retry-after": "1"}), "shed", "Retry-After 1"),
    ("503-with-retry-after", Reply(503, b"", {"retry-after": "2"}), "shed", "HTTP 503"),
    ("429-without-retry-after", Reply(429, b"{}"), "error", "HTTP 429 without Retry-After"),
    ("503-without-retry-after", Reply(503, b"busy"), "error", "HTTP 503 without Retry-After"),
    ("500", Reply(500, b'{"detail": "boom"}'), "error", 'HTTP 500: {"detail": "boom"}'),
    ("422", Reply(422, b'{"detail": []}'), "error", "HTTP 422"),
    ("404", Reply(404, b""), "error", "HTTP 404"),
    ("timeout", Reply(0, error="timeout after 30 s (TimeoutError: timed out)"), "error",
     "timeout after 30 s"),
    ("connection-refused", Reply(0, error="ConnectionRefusedError: [Errno 111]"), "error",
     "ConnectionRefusedError"),
    ("no-response", Reply(0), "error", "no response"),
    ("body-cut-off", Reply(200, b'{"status"', error="HTTPParseError: truncated"), "error",
     "HTTPParseError"),
    ("malformed-json", ok(b"{not json"), "error", "malformed JSON"),
    ("empty-body", ok(b""), "error", "malformed JSON"),
    ("json-list", ok([1, 2]), "error", "answer is list"),
    ("missing-status", ok(without("status")), "error", "missing field 'status'"),
    ("missing-root-cause", ok(without("root_cause")), "error", "missing field 'root_cause'"),
    ("missing-id", ok(without("investigation_id")), "error", "missing field 'investigation_id'"),
    ("missing-tokens", ok(without("tokens")), "error", "missing field 'tokens'"),
    ("unknown-status", ok(answer(status="done")), "error", "field 'status' is 'done'"),
    ("tokens-not-int", ok(answer(tokens="many")), "error", "field 'tokens' is 'many'"),
    ("cause-not-str", ok(answer(root_cause=7)), "error", "field 'root_cause' is 7"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("reply", "outcome", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_reference_profile_classifies(reply: Reply, outcome: str, reason: str) -> None:
    """Each kind of reply gets its outcome and a reason naming what was wrong."""
    verdict = PROFILE.judge(CASE, reply)
    assert verdict.outcome == outcome, verdict
    assert reason in verdict.reason
    assert verdict.outcome in OUTCOMES
    assert verdict.failed == (outcome in ("wrong", "error"))


def test_every_outcome_is_covered_by_the_table() -> None:
    """Every outcome but ``unjudged``: the reference profile's label check always decides."""
    assert {c[2] for c in CASES} == set(OUTCOMES) - {Outcome.UNJUDGED}


def test_answer_fields_are_read() -> None:
    """Tokens, cost, retries, replica and id come from the answer."""
    verdict = PROFILE.judge(CASE, ok(answer()))
    key = answer_key(TRUE)
    assert verdict == Verdict(Outcome.CORRECT, "", 200, 321, 0.0004, 2, "pod-a", "inv-1", key)


def test_replica_falls_back_to_the_served_by_header() -> None:
    verdict = PROFILE.judge(CASE, ok(answer(replica=None), x_served_by="pod-b"))
    assert verdict.replica == "pod-b"


def test_shed_and_error_replies_keep_the_replica_header() -> None:
    verdict = PROFILE.judge(CASE, Reply(429, b"", {"retry-after": "1", "x-served-by": "p"}))
    assert (verdict.outcome, verdict.replica) == ("shed", "p")


def test_request_is_the_incident_alert_with_an_idempotency_key() -> None:
    spec = PROFILE.build(CASE, "k1")
    assert (spec.method, spec.path, spec.name) == ("POST", "/investigate", "POST /investigate")
    assert spec.json == INCIDENT.alert()
    assert spec.headers == {"Idempotency-Key": "k1"}


LOOKUPS: list[tuple[str, Reply, str, str]] = [
    ("same-id", ok(answer()), "correct", ""),
    ("other-id", ok(answer(investigation_id="inv-2")), "error", "returned investigation 'inv-2'"),
    ("404-lost", Reply(404, b'{"detail":"not found"}'), "error", "investigation 'inv-1' lost"),
    ("503-shed", Reply(503, b"", {"retry-after": "1"}), "shed", "Retry-After"),
    ("500", Reply(500, b""), "error", "HTTP 500"),
    ("malformed", ok(b"<html>"), "error", "malformed JSON"),
    ("timeout", Reply(0, error="timeout after 1 s"), "error", "timeout"),
]


@pytest.mark.parametrize(
    ("reply", "outcome", "reason"), [c[1:] for c in LOOKUPS], ids=[c[0] for c in LOOKUPS]
)
def test_lookup_classification(reply: Reply, outcome: str, reason: str) -> None:
    """A stored answer must come back with its id; 404 is a lost investigation."""
    verdict = PROFILE.judge_lookup("inv-1", reply)
    assert (verdict.outcome, reason in verdict.reason) == (outcome, True), verdict


def test_lookup_costs_no_tokens() -> None:
    verdict = PROFILE.judge_lookup("inv-1", ok(answer(), x_served_by="p"))
    assert (verdict.tokens, verdict.cost_usd, verdict.retries, verdict.replica) == (0, 0.0, 0, "p")
    assert PROFILE.lookup("inv-1") is not None
    assert PROFILE.lookup("inv-1").path == "/investigations/inv-1"  # type: ignore[union-attr]


def test_profiles_resolve_by_name_and_by_path() -> None:
    assert type(load_profile("reference")) is TargetProfile
    assert load_profile("").name == "reference"
    assert load_profile("loadtests.examples.diagnosis_profile:PROFILE") is DIAGNOSIS
    assert isinstance(
        load_profile("loadtests.examples.diagnosis_profile:DiagnosisProfile"), DiagnosisProfile
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nope", "unknown profile 'nope'"),
        ("no.such.module:X", "cannot import 'no.such.module'"),
        ("loadtests.profile:NOPE", "has no 'NOPE'"),
        ("loadtests.profile:OUTCOMES", "is a tuple, expected a profile"),
    ],
    ids=["unknown-name", "bad-module", "bad-attr", "not-a-profile"],
)
def test_bad_profiles_are_rejected_with_a_reason(spec: str, message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        load_profile(spec)


DIAG = [
    ("confident-right", {"diagnosis": {"cause": TRUE, "confidence": 0.9}}, "correct"),
    ("confident-wrong", {"diagnosis": {"cause": DECOY, "confidence": 0.9}}, "wrong"),
    ("unsure-wrong-is-degraded", {"diagnosis": {"cause": DECOY, "confidence": 0.2}}, "degraded"),
    ("null", {"diagnosis": None, "gaps": ["logs"]}, "degraded"),
    ("missing", {"answer": 1}, "error"),
    ("bad-confidence", {"diagnosis": {"cause": TRUE, "confidence": "high"}}, "error"),
]


@pytest.mark.parametrize(("body", "outcome"), [c[1:] for c in DIAG], ids=[c[0] for c in DIAG])
def test_example_diagnosis_profile(body: dict[str, Any], outcome: str) -> None:
    """The documented example profile for a {"diagnosis": ...} agent judges with the same rules."""
    reply = ok({**body, "usage": {"total_tokens": 10, "cost": 0.1}}, x_pod_name="p1")
    verdict = DIAGNOSIS.judge(CASE, reply)
    assert verdict.outcome == outcome, verdict
    if outcome != "error":
        assert (verdict.tokens, verdict.replica) == (10, "p1")
    assert DIAGNOSIS.lookup("x") is None
    assert DIAGNOSIS.build(CASE, "k").json["alert"] == INCIDENT.alert()


def test_equal_weights_draw_like_rng_choice_so_seeded_runs_repeat() -> None:
    cases = reference_cases()
    pick = case_picker(cases)
    a, b = random.Random("7:0:0"), random.Random("7:0:0")
    assert [pick(a) for _ in range(50)] == [b.choice(cases) for _ in range(50)]


def test_weights_set_how_often_a_case_is_drawn() -> None:
    """Weights 3:1 over 4000 draws: 3000 +- 4 sigma (sigma = sqrt(4000 * 0.75 * 0.25) ~ 27)."""
    first, second = reference_cases()[:2]
    heavy, light = replace(first, weight=3.0), replace(second, weight=1.0)
    pick = case_picker([heavy, light])
    rng = random.Random(1)
    drawn = Counter(pick(rng).id for _ in range(4000))
    assert abs(drawn[heavy.id] - 3000) <= 4 * 27.4, drawn
    with pytest.raises(ValueError, match="no cases"):
        case_picker([])


def test_load_case_set_reads_a_file_or_the_reference_cases(tmp_path: Path) -> None:
    assert load_case_set("") == reference_cases()
    path = tmp_path / "one.jsonl"
    path.write_text('{"id": "q", "input": {"service": "checkout"}, "expect": {"label": "x"}}\n')
    assert [c.id for c in load_case_set(str(path))] == ["q"]
    with pytest.raises(InputError, match=r"one\.jsonl:1: case 'q': expect: nothing to check"):
        path.write_text('{"id": "q", "input": {}, "expect": {}}\n')
        load_case_set(str(path))


def test_a_yaml_path_loads_a_declarative_profile(tmp_path: Path) -> None:
    """``--stampede-profile PATH.yaml``: the declarative loader, its errors naming the field."""
    fakes = Path(__file__).resolve().parents[1] / "fakes"
    profile = load_profile(str(fakes / "rated_profile.yaml"))
    assert isinstance(profile, DeclarativeProfile) and profile.name == "rated"
    bad = tmp_path / "bad.yml"
    bad.write_text("name: x\nrequest: {path: /q}\nresponse: {answer: '$..['}\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.yml:3: response\.answer: not a JSON path"):
        load_profile(str(bad))
    with pytest.raises(InputError, match=r"missing\.yaml: cannot read"):
        load_profile(str(tmp_path / "missing.yaml"))


def test_the_reference_profile_needs_a_label_on_every_case() -> None:
    PROFILE.check_cases(reference_cases())
    unlabelled = replace(CASE, expect=replace(CASE.expect, label=None, regex="x"))
    with pytest.raises(InputError, match=r"case 'INC-001'.*: expect\.label: missing"):
        PROFILE.check_cases([CASE, unlabelled])


def test_fast_constructors_build_what_the_dataclasses_build() -> None:
    """The per-request constructors give equal objects, defaults and factories applied."""
    ask = Attempt("c", "t", 1, 2)
    cases: list[tuple[type, dict[str, Any]]] = [
        (Verdict, {"outcome": Outcome.WRONG, "reason": "r", "status": 200, "tokens": 3,
                   "answer_key": "k", "attempt": ask}),
        (Verdict, {"outcome": Outcome.CORRECT}),
        (Answer, {"status": "complete", "root_cause": "x", "tokens": 1, "cost_usd": 0.5}),
        (RequestSpec, {"method": "GET", "path": "/p", "name": "GET /p"}),
        (RequestSpec, {"method": "POST", "path": "/p", "name": "n", "json": {"a": 1},
                       "headers": {"K": "v"}}),
    ]  # fmt: skip
    for cls, values in cases:
        made, expected = fast_constructor(cls)(**values), cls(**values)
        assert type(made) is cls and made == expected, cls
        if cls is not RequestSpec:  # its dicts are unhashable
            assert hash(made) == hash(expected)
    make = fast_constructor(RequestSpec)
    first, second = make(method="GET", path="/", name="n"), make(method="GET", path="/", name="n")
    assert first.headers == {} and first.headers is not second.headers  # a fresh default
    with pytest.raises(TypeError):
        make(method="GET", path="/", name="n", nope=1)
    with pytest.raises(TypeError):
        make(method="GET")  # path and name missing
    with pytest.raises(TypeError, match="plain frozen dataclass"):
        fast_constructor(ValidatedVerdict)


@dataclass(frozen=True)
class ValidatedVerdict(Verdict):
    def __post_init__(self) -> None:
        raise AssertionError("fast_constructor must refuse a class with __post_init__")


def test_with_attempt_is_replace() -> None:
    verdict = Verdict(Outcome.DEGRADED, "degraded: missing x", 200, 1, 0.1, 0, "r", "i", "k")
    ask = Attempt("c", "t", 2, 3)
    assert verdict.with_attempt(ask) == replace(verdict, attempt=ask)
    assert verdict.attempt is None  # the original is untouched


@pytest.mark.parametrize(
    "body",
    [b'{"a": 1.5, "b": [true, null], "c": "\\u00e9"}', b'{"n": NaN}', b"[1e400]",
     b'{"big": 123456789012345678901234567890}', b"[-9223372036854775809, 18446744073709551616]",
     b"[18446744073709551615, -9223372036854775808, 1.2345678901234567890123]",
     b'"\\ud800"', b"\xef\xbb\xbf[1]",
     '{"s": "t"}'.encode("utf-16")],
)  # fmt: skip
def test_loads_is_json_loads(body: bytes) -> None:
    """orjson first, the standard library for what orjson refuses: json.loads's results."""
    got, expected = loads(body), json.loads(body)
    assert repr(got) == repr(expected)


@pytest.mark.parametrize("body", [b"{not json", b"", b'{"a": 1} x', b"\xff"])
def test_loads_fails_as_json_loads_does(body: bytes) -> None:
    with pytest.raises(ValueError) as ours:
        loads(body)
    with pytest.raises(ValueError) as theirs:
        json.loads(body)
    assert str(ours.value) == str(theirs.value)
