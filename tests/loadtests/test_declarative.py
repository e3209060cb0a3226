"""Declarative profiles: loading, field-named errors, templating, and every outcome path."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from loadtests.declarative import (
    DeclarativeProfile,
    ProfileFileError,
    load_declarative_profile,
    parse_profile,
)
from loadtests.profile import Reply, TargetProfile
from stampede import procs
from stampede.cases import Case, Expect
from stampede.contract import Outcome
from stampede.errors import InputError
from stampede.judges import Judgement, Panel, answer_key
from stampede.metricmap import CANONICAL, MetricMap, load_metric_map, profile_metric_map

ROOT = Path(__file__).resolve().parents[2]

BASE = """\
name: demo
request:
  path: /ask
  headers: {X-Key: "{key}", X-Case: "{case_id}"}
  body:
    question: "Q: {input.question}"
    limit: "{input.limit}"
    nested: {tags: ["{input.tag}", "literal {{braces}}"]}
    whole: "{input}"
response:
  answer: $.answer
  status: $.status
  id: $.meta.id
  tokens: $.usage.tokens
  cost_usd: $.usage.cost
  retries: $.usage.retries
  replica: {header: X-Replica}
partial:
  path: $.status
  values: [partial]
  complete_values: [ok]
judge: {kind: aliases, match: contains}
lookup:
  path: /answers/{id}
  id: $.meta.id
"""

CASE = Case(
    "c1",
    {"question": "who is on call?", "limit": 3, "tag": "oncall"},
    Expect(label="Dana Whitfield", aliases=("Dana W.",)),
)


def profile_of(text: str = BASE, name: str = "profile.yaml") -> DeclarativeProfile:
    spec, panel = parse_profile(text, name)
    return DeclarativeProfile(spec, panel, name)


def reply(body: Any, status: int = 200, **headers: str) -> Reply:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Reply(status, raw, {k.lower().replace("_", "-"): v for k, v in headers.items()})


def ok(answer: Any, status: str = "ok", **extra: Any) -> dict[str, Any]:
    return {
        "answer": answer,
        "status": status,
        "meta": {"id": "a-1"},
        "usage": {"tokens": 120, "cost": 0.002, "retries": 1},
        **extra,
    }


# -- loading ------------------------------------------------------------------------------


def test_the_shipped_profiles_load() -> None:
    """The example's and the rated fake's profiles are valid and are TargetProfiles."""
    for path in ("examples/helpdesk/profile.yaml", "tests/fakes/rated_profile.yaml"):
        profile = load_declarative_profile(ROOT / path)
        assert isinstance(profile, TargetProfile)
    helpdesk = load_declarative_profile(ROOT / "examples/helpdesk/profile.yaml")
    assert helpdesk.name == "helpdesk"
    assert helpdesk.replica_header == "X-Helpdesk-Replica"
    breaker = helpdesk.metric_map.mappings["breaker_state"]
    assert (breaker.series, breaker.label, breaker.fold) == ("helpdesk_breaker_open", "dep", "max")
    assert breaker.combine([0.0, 1.0]) == 2.0  # helpdesk's "open" is the reference's 2


def test_the_metrics_section_is_the_samplers_metric_map() -> None:
    """The profile's map is stampede.metricmap's, the very one the suite reads for the sampler."""
    path = ROOT / "examples/helpdesk/profile.yaml"
    metric_map = load_declarative_profile(path).metric_map
    assert isinstance(metric_map, MetricMap)
    assert metric_map == load_metric_map(path) == profile_metric_map(path)
    assert metric_map.name == str(path)
    assert set(metric_map.unmapped()) == {"shed_total", "write_behind_depth"}
    bare = load_declarative_profile(ROOT / "tests/fakes/rated_profile.yaml")
    assert bare.metric_map.mappings == {} and bare.metric_map.unmapped() == list(CANONICAL)


def test_a_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(ProfileFileError, match=r"nope\.yaml: cannot read"):
        load_declarative_profile(tmp_path / "nope.yaml")


def test_a_profile_error_is_an_input_error() -> None:
    """The CLI and Locust's init hook turn InputError into one line and exit 2."""
    assert issubclass(ProfileFileError, InputError)


BAD = [
    (
        "bad-path",
        "response:\n  answer: $..[\n",
        r"profile\.yaml:\d+: response\.answer: not a JSON path: '\$\.\.\['",
    ),
    ("answer-type", "response:\n  answer: 5\n", r"response\.answer: expected a JSON path"),
    (
        "source-key",
        "response:\n  answer: $.a\n  tokens: {heder: X}\n",
        r"response\.tokens: expected a JSON path .*heder",
    ),
    ("no-answer", "response:\n  id: $.id\n", r"response\.answer: Field required"),
    (
        "unknown-field",
        "response:\n  answer: $.a\n  anwser: $.b\n",
        r"profile\.yaml:5: response\.anwser: unknown field",
    ),
    ("method", "request:\n  method: FETCH\n  path: /ask\n", r"request\.method: Input should be"),
    ("path-slash", "request:\n  path: ask\n", r"request\.path: String should match pattern"),
    (
        "placeholder",
        'request:\n  path: /ask\n  body: {q: "{inptu.q}"}\n',
        r"request\.body: unknown placeholder '\{inptu\.q\}'",
    ),
    (
        "header-placeholder",
        'request:\n  path: /ask\n  headers: {X: "{nope}"}\n',
        r"request\.headers\.X: unknown placeholder",
    ),
    (
        "partial-both",
        "partial: {path: $.s, values: [p], regex: x}\n",
        r"partial: set either path \(with values\) or regex",
    ),
    ("partial-values", "partial: {path: $.s}\n", r"partial: path needs values"),
    ("partial-regex", "partial: {regex: '('}\n", r"partial: regex '\(' does not compile"),
    (
        "claims",
        "partial: {regex: x, claims: none, claim_regex: y}\n",
        r"partial: claim_regex with claims: none",
    ),
    (
        "shed-status",
        "shed: {statuses: [4290]}\n",
        r"shed\.statuses\.0: Input should be less than or equal to 599",
    ),
    (
        "retry-after",
        "shed: {retry_after: sometimes}\n",
        r"shed\.retry_after: Input should be 'required' or 'optional'",
    ),
    ("judge-kind", "judge: {kind: aliasez}\n", r":\d+: judge\.kind: unknown judge 'aliasez'"),
    (
        "judge-option",
        "judge: {kind: aliases, match: nope}\n",
        r"judge\.match: 'nope': expected one of",
    ),
    (
        "judge-nested",
        "judge: {kind: any_of, judges: [exact, {kind: regx}]}\n",
        r"judge\.judges\[1\]\.kind: unknown judge 'regx'",
    ),
    ("judge-type", "judge: 5\n", r"judge: expected a judge kind"),
    ("lookup-id", "lookup: {path: /answers}\n", r"lookup\.path: String should match pattern"),
    (
        "metric-name",
        "metrics: {breakers: {series: x}}\n",
        r"profile\.yaml:5: metrics\.breakers: unknown metric \(expected one of breaker_state,",
    ),
    (
        "metric-series",
        "metrics: {in_flight: {series: 'not a name'}}\n",
        r"metrics\.in_flight\.series: String should match",
    ),
    (
        "metric-fold",
        "metrics: {in_flight: {series: x, fold: avg}}\n",
        r"metrics\.in_flight\.fold: Input should be",
    ),
    (
        "metric-field",
        "metrics:\n  in_flight:\n    series: x\n    lable: dep\n",
        r"profile\.yaml:8: metrics\.in_flight\.lable: unknown field \(expected series,",
    ),
    (
        "metric-same-series",
        "metrics: {in_flight: {series: x}, queue_depth: {series: x}}\n",
        r"metrics\.queue_depth\.series: 'x' is already mapped to in_flight",
    ),
    ("metric-section", "metrics: [in_flight]\n", r"metrics: expected a mapping of metric"),
    ("name", "name: 'has space'\n", r"name: String should match pattern"),
]


def _with(override: str) -> str:
    """A valid minimal profile with the top-level sections of ``override`` replacing its own."""
    sections = {"request": "request:\n  path: /ask\n", "response": "response:\n  answer: $.a\n"}
    text = override
    for key, default in sections.items():
        if not override.startswith(f"{key}:") and f"\n{key}:" not in override:
            text = default + text
    return text


@pytest.mark.parametrize(
    ("text", "message"), [(t, m) for _, t, m in BAD], ids=[i for i, _, _ in BAD]
)
def test_every_bad_field_is_named(text: str, message: str) -> None:
    """A bad profile raises one line naming the file, the line and the field."""
    with pytest.raises(ProfileFileError, match=message) as info:
        parse_profile(_with(text), "profile.yaml")
    assert str(info.value).startswith("profile.yaml")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("request: [\n", r"profile\.yaml:\d+: not valid YAML"),
        ("- a\n", r"profile\.yaml: expected a mapping"),
    ],
    ids=["not-yaml", "not-a-mapping"],
)
def test_a_file_that_is_not_a_profile_is_named(text: str, message: str) -> None:
    with pytest.raises(ProfileFileError, match=message):
        parse_profile(text, "profile.yaml")


# -- templating ---------------------------------------------------------------------------


def test_the_body_is_filled_from_the_case() -> None:
    """Inside a string: text; a whole value keeps its JSON type; {key}, {case_id}, {{ }}."""
    spec = profile_of().build(CASE, "k-42")
    assert (spec.method, spec.path, spec.name) == ("POST", "/ask", "POST /ask")
    assert spec.headers == {"X-Key": "k-42", "X-Case": "c1"}
    assert spec.json == {
        "question": "Q: who is on call?",
        "limit": 3,
        "nested": {"tags": ["oncall", "literal {braces}"]},
        "whole": {"question": "who is on call?", "limit": 3, "tag": "oncall"},
    }


def test_a_number_inside_a_string_is_written_as_json() -> None:
    profile = profile_of(
        _with('request:\n  path: "/ask/{input.limit}"\n  body: {q: "n={input.limit}"}\n')
    )
    spec = profile.build(CASE, "k")
    assert spec.path == "/ask/3"
    assert spec.json == {"q": "n=3"}


def test_a_case_without_the_templates_input_is_refused_at_start() -> None:
    """check_cases names the missing input and the case before any request is sent."""
    bare = Case("c2", {"question": "x"}, Expect(label="y"), source="cases.yaml:4")
    with pytest.raises(
        ProfileFileError, match=r"needs 'input\.limit'.*case 'c2' \(cases\.yaml:4\)"
    ):
        profile_of().check_cases([bare])


def test_a_case_its_judge_cannot_judge_is_refused_at_start() -> None:
    regex_only = Case("c3", {"question": "x", "limit": 1, "tag": "t"}, Expect(regex="y"))
    with pytest.raises(ProfileFileError, match=r"case 'c3'.*needs a label"):
        profile_of().check_cases([regex_only])


def test_the_lookup_request_carries_the_id() -> None:
    spec = profile_of().lookup("a-1")
    assert spec is not None
    assert (spec.method, spec.path, spec.name) == ("GET", "/answers/a-1", "GET /answers/{id}")
    assert profile_of(_with("")).lookup("a-1") is None


# -- judging ------------------------------------------------------------------------------

OUTCOME_PATHS = [
    ("correct", reply(ok("Dana Whitfield is on call."), X_Replica="r-2"), Outcome.CORRECT, ""),
    ("correct-alias", reply(ok("Ask Dana W. today")), Outcome.CORRECT, "alias"),
    ("wrong", reply(ok("Mallory Stone is on call.")), Outcome.WRONG, "matches none of"),
    (
        "partial-judged-wrong",
        reply(ok("I could not look that up.", "partial")),
        Outcome.WRONG,
        "partial answer makes a wrong claim",
    ),
    (
        "partial-right-claim",
        reply(ok("Maybe Dana Whitfield.", "partial")),
        Outcome.DEGRADED,
        "claim correct",
    ),
    ("partial-null", reply(ok(None, "partial")), Outcome.DEGRADED, "partial"),
    ("empty-answer", reply(ok("  ")), Outcome.ERROR, "empty answer"),
    ("no-answer", reply({"status": "ok"}), Outcome.ERROR, "no answer at $.answer"),
    ("bad-status", reply(ok("x", "exploded")), Outcome.ERROR, "$.status is 'exploded'"),
    (
        "bad-tokens",
        reply({**ok("Dana Whitfield"), "usage": {"tokens": "many"}}),
        Outcome.ERROR,
        "tokens is 'many'",
    ),
    ("not-json", reply(b"<html>"), Outcome.ERROR, "malformed JSON"),
    ("5xx", reply({"detail": "boom"}, 500), Outcome.ERROR, "HTTP 500"),
    ("404", reply(b"", 404), Outcome.ERROR, "HTTP 404"),
    ("no-response", Reply(0, error="timeout after 5 s"), Outcome.ERROR, "timeout after 5 s"),
    (
        "cut-body",
        Reply(200, b'{"answer": "Da', error="IncompleteRead"),
        Outcome.ERROR,
        "IncompleteRead",
    ),
    ("shed", reply(b"", 429, Retry_After="2"), Outcome.SHED, "Retry-After 2"),
    ("shed-503", reply(b"", 503, Retry_After="1"), Outcome.SHED, "HTTP 503"),
    ("shed-without-retry-after", reply(b"", 503), Outcome.ERROR, "without Retry-After"),
]


@pytest.mark.parametrize(
    ("got", "outcome", "reason"),
    [(r, o, why) for _, r, o, why in OUTCOME_PATHS],
    ids=[i for i, *_ in OUTCOME_PATHS],
)
def test_each_outcome_path(got: Reply, outcome: Outcome, reason: str) -> None:
    verdict = profile_of().judge(CASE, got)
    assert verdict.outcome == outcome, verdict.reason
    assert reason in verdict.reason


def test_a_verdict_carries_what_the_reply_says() -> None:
    verdict = profile_of().judge(CASE, reply(ok("Dana Whitfield"), X_Replica="r-2"))
    assert (verdict.tokens, verdict.cost_usd, verdict.retries) == (120, 0.002, 1)
    assert (verdict.replica, verdict.investigation_id, verdict.status) == ("r-2", "a-1", 200)


def test_equal_answers_have_equal_answer_keys() -> None:
    """The verdict keys the answer (stampede.judges.answer_key) for the consistency SLI."""
    profile = profile_of()

    def key(answer: Any, status: str = "ok") -> str:
        return profile.judge(CASE, reply(ok(answer, status))).answer_key

    right = key("Dana Whitfield is on call.")
    assert right == answer_key("Dana Whitfield is on call.") != ""
    assert key("dana whitfield is ON CALL!") == right  # the same answer, normalised
    assert key("Mallory Stone is on call.") not in ("", right)
    assert key("Maybe Dana Whitfield.", "partial") == answer_key("Maybe Dana Whitfield.")
    assert key("  ") == ""  # no answer, no key
    assert profile.judge(CASE, reply({"status": "ok"})).answer_key == ""
    as_json = profile_of(_with("response:\n  answer: $.result\njudge: json_path\n"))
    case = Case("c5", {}, Expect(json_path="$.cause", value="oom"))
    keys = {
        as_json.judge(case, reply({"result": result})).answer_key
        for result in ({"cause": "oom", "n": 1}, {"n": 1, "cause": "oom"})
    }
    assert len(keys) == 1 and "" not in keys


@pytest.mark.parametrize(
    ("usage", "got"),
    [
        ({"tokens": "120", "cost": "0.5", "retries": 2.0}, (120, 0.5, 2)),
        ({"tokens": 1.5}, "tokens is 1.5, expected a whole number"),
        ({"tokens": True}, "tokens is True, expected a whole number"),
        ({"retries": "two"}, "retries is 'two', expected a whole number"),
        ({"cost": "cheap"}, "cost_usd is 'cheap', expected a number"),
        ({"cost": [1]}, "cost_usd is [1], expected a number"),
    ],
    ids=["numeric-strings", "fractional", "bool", "word", "cost-word", "cost-list"],
)
def test_numbers_in_the_reply_are_read_or_refused(usage: dict[str, Any], got: Any) -> None:
    verdict = profile_of().judge(CASE, reply({**ok("Dana Whitfield"), "usage": usage}))
    if isinstance(got, tuple):
        assert (verdict.tokens, verdict.cost_usd, verdict.retries) == got
    else:
        assert verdict.outcome == Outcome.ERROR and got in verdict.reason, verdict.reason


def test_absent_optional_fields_are_unknown_not_zero() -> None:
    verdict = profile_of().judge(CASE, reply({"answer": "Dana Whitfield", "status": "ok"}))
    assert verdict.outcome == Outcome.CORRECT
    assert (verdict.tokens, verdict.cost_usd, verdict.retries, verdict.replica) == (None,) * 4


def test_partial_claims_none_never_judges_a_partial_answer() -> None:
    text = BASE.replace("complete_values: [ok]", "complete_values: [ok]\n  claims: none")
    verdict = profile_of(text).judge(CASE, reply(ok("Mallory Stone, probably", "partial")))
    assert verdict.outcome == Outcome.DEGRADED


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        ("Could not reach the rota.", Outcome.DEGRADED),
        ("Could not reach the rota; last known: Mallory Stone.", Outcome.WRONG),
        ("Could not reach the rota; last known: Dana Whitfield.", Outcome.DEGRADED),
    ],
    ids=["no-claim", "wrong-claim", "right-claim"],
)
def test_partial_by_regex_with_a_claim_regex(answer: str, outcome: Outcome) -> None:
    """partial.regex marks partial answers; only the claim claim_regex extracts is judged."""
    text = _with(
        "partial: {regex: '(?i)could not', claim_regex: 'last known: (.+)'}\n"
        "judge: {kind: aliases, match: contains}\n"
    )
    verdict = profile_of(text).judge(CASE, reply({"a": answer}))
    assert verdict.outcome == outcome, verdict.reason


def test_shed_without_retry_after_can_be_allowed() -> None:
    profile = profile_of(_with("shed: {statuses: [429], retry_after: optional}\n"))
    assert profile.judge(CASE, reply(b"", 429)).outcome == Outcome.SHED
    assert profile.judge(CASE, reply(b"", 503, Retry_After="1")).outcome == Outcome.ERROR


def test_a_case_can_name_its_own_judge() -> None:
    by_regex = Case(
        "c4",
        {"question": "v?", "limit": 1, "tag": "t"},
        Expect(regex=r"\b2\.9\.0\b", judge="regex"),
    )
    profile = profile_of()
    profile.check_cases([by_regex])
    assert profile.judge(by_regex, reply(ok("search runs 2.9.0"))).outcome == Outcome.CORRECT
    assert profile.judge(by_regex, reply(ok("search runs 2.9.1"))).outcome == Outcome.WRONG


def test_a_json_answer_keeps_its_type_for_json_judges() -> None:
    text = _with("response:\n  answer: $.result\njudge: json_path\n")
    case = Case("c5", {}, Expect(json_path="$.cause", value="oom"))
    profile = profile_of(text)
    assert profile.judge(case, reply({"result": {"cause": "oom"}})).outcome == Outcome.CORRECT
    assert profile.judge(case, reply({"result": {"cause": "disk"}})).outcome == Outcome.WRONG


@dataclass(frozen=True)
class BrokenJudge:
    kind: str = "broken"

    def problem(self, case: Case) -> str | None:
        return None

    def judge(self, case: Case, answer: Any) -> Judgement:
        raise RuntimeError("judge crashed")


def test_a_judge_that_raises_gives_unjudged_never_correct() -> None:
    spec, _ = parse_profile(BASE, "profile.yaml")
    profile = DeclarativeProfile(spec, Panel(BrokenJudge()), "profile.yaml")
    verdict = profile.judge(CASE, reply(ok("Dana Whitfield")))
    assert verdict.outcome == Outcome.UNJUDGED
    assert "judge broken failed: RuntimeError: judge crashed" in verdict.reason
    partial = profile.judge(CASE, reply(ok("Dana Whitfield?", "partial")))
    assert partial.outcome == Outcome.UNJUDGED


def test_an_unreachable_llm_judge_gives_unjudged() -> None:
    """E's LLM judge through the profile: nothing listens, so the judge cannot decide."""
    dead = f"http://{procs.LOCALHOST}:{procs.free_port()}/v1"
    text = _with(f"judge: {{kind: llm, base_url: '{dead}', model: m, timeout_s: 1}}\n")
    verdict = profile_of(text).judge(CASE, reply({"a": "Dana Whitfield"}))
    assert verdict.outcome == Outcome.UNJUDGED, verdict.reason


# -- look-ups -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("got", "outcome", "reason"),
    [
        (reply({"meta": {"id": "a-1"}}), Outcome.CORRECT, ""),
        (reply({"meta": {"id": "a-2"}}), Outcome.ERROR, "returned 'a-2' at $.meta.id"),
        (reply({"meta": {}}), Outcome.ERROR, "returned nothing"),
        (reply(b"", 404), Outcome.ERROR, "lost: HTTP 404"),
        (reply(b"nope"), Outcome.ERROR, "malformed JSON"),
        (reply(b"", 503, Retry_After="1"), Outcome.SHED, ""),
    ],
    ids=["same-id", "other-id", "no-id", "lost", "not-json", "shed"],
)
def test_lookup_outcomes(got: Reply, outcome: Outcome, reason: str) -> None:
    verdict = profile_of().judge_lookup("a-1", got)
    assert verdict.outcome == outcome, verdict.reason
    assert reason in verdict.reason
