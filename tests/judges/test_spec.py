"""Composition (all_of, any_of, auto), judges built from specs, and the per-case panel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from stampede.cases import Case
from stampede.contract import Outcome
from stampede.errors import InputError
from stampede.judges import (
    KINDS,
    AliasesJudge,
    AllOf,
    AnyOf,
    Judge,
    Judgement,
    LLMJudge,
    NumberJudge,
    RegexJudge,
    build_judge,
    build_panel,
)
from tests.judges.support import case


@dataclass(frozen=True)
class Undecided:
    """A judge that never decides (an LLM judge that timed out), counting its calls."""

    calls: list[str]
    kind: str = "undecided"

    def problem(self, case: Case) -> str | None:
        return None

    def judge(self, case: Case, answer: Any) -> Judgement:
        self.calls.append(case.id)
        return Judgement.unjudged("timed out")


BOTH = case(label="Paris", regex=r"\bParis\b", number=1889)


def test_auto_checks_every_field_the_case_sets() -> None:
    auto = build_judge(None)
    assert isinstance(auto, AllOf) and auto.kind == "auto"
    assert auto.judge(BOTH, "Paris").outcome == Outcome.WRONG  # no number 1889
    result = auto.judge(case(regex=r"\bParis\b", number=1889), "Paris, tower of 1889")
    assert result.outcome == Outcome.CORRECT
    assert auto.judge(case(label="Paris"), "Paris").outcome == Outcome.CORRECT
    assert auto.judge(case(label="Paris", aliases=["paris fr"]), "PARIS FR").is_correct


def test_all_of_stops_at_the_first_wrong_and_is_unjudged_when_one_cannot_decide() -> None:
    calls: list[str] = []
    judge = AllOf((AliasesJudge(), Undecided(calls)))
    assert judge.judge(case(label="x"), "y").outcome == Outcome.WRONG
    assert calls == []  # the undecided judge was not asked
    result = judge.judge(case(label="x"), "x")
    assert result == Judgement.unjudged("undecided: timed out")
    assert result.outcome != Outcome.CORRECT


def test_any_of_is_correct_on_one_and_skips_judges_that_cannot_judge() -> None:
    judge = AnyOf((RegexJudge(), AliasesJudge()))
    c = case(label="Paris")  # no regex: the regex judge is skipped
    assert judge.problem(c) is None
    assert judge.judge(c, "paris").outcome == Outcome.CORRECT
    wrong = judge.judge(c, "Lyon")
    assert wrong.outcome == Outcome.WRONG and wrong.reason.startswith("aliases: answer 'Lyon'")
    assert AnyOf((AliasesJudge(), Undecided([]))).judge(c, "Lyon").outcome == Outcome.UNJUDGED
    assert AnyOf((RegexJudge(),)).problem(c) == "judge regex needs a regex"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("aliases", AliasesJudge()),
        ({"kind": "aliases", "match": "contains"}, AliasesJudge(match="contains")),
        ({"kind": "number", "pick": "first", "relative": 0.1}, NumberJudge("first", 0.1)),
        ({"kind": "regex", "ignore_case": True}, RegexJudge(ignore_case=True)),
        ({"kind": "any_of", "judges": ["exact", {"kind": "regex"}]},
         AnyOf((build_judge("exact"), RegexJudge()))),
        ({"kind": "all_of"}, AllOf()),
    ],
    ids=["name", "aliases-contains", "number", "regex", "any-of", "all-of-auto"],
)  # fmt: skip
def test_specs_build_judges(spec: object, expected: Judge) -> None:
    assert build_judge(spec) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nope", "judge: unknown judge 'nope' (known: "),
        ({"kind": "nope"}, "judge.kind: unknown judge 'nope'"),
        ({"match": "contains"}, "judge.kind: required"),
        ({"kind": "aliases", "match": "sometimes"}, "judge.match: 'sometimes': expected one of"),
        ({"kind": "aliases", "colour": 1}, "judge.colour: not an option of judge aliases"),
        ({"kind": "regex", "full": "yes"}, "judge.full: 'yes': expected true or false"),
        ({"kind": "number", "relative": -1}, "judge.relative: -1: expected a number >= 0"),
        ({"kind": "any_of", "judges": []}, "judge.judges: expected a non-empty list"),
        ({"kind": "all_of", "judges": ["exact", {"kind": "x"}]},
         "judge.judges[1].kind: unknown judge 'x'"),
        ("llm", "judge.base_url: required by judge llm"),
        ({"kind": "llm", "base_url": "ftp://x", "model": "m"},
         "judge.base_url: 'ftp://x' is not an http(s) URL"),
        ({"kind": "llm", "base_url": "http://x", "model": "m", "concurrency": 0},
         "judge.concurrency: 0: expected 1..256"),
        ({"kind": "llm", "base_url": "http://x", "model": "m", "api_key_env": "NO_SUCH_KEY_E"},
         "judge.api_key_env: environment variable NO_SUCH_KEY_E is unset"),
        (7, "judge: 7: expected a judge kind or a mapping with 'kind'"),
    ],
    ids=["unknown-name", "unknown-kind", "no-kind", "bad-choice", "unknown-option", "bad-bool",
         "negative", "empty-list", "nested", "llm-bare", "llm-url", "llm-concurrency",
         "llm-key", "not-a-spec"],
)  # fmt: skip
def test_bad_specs_name_the_field(spec: object, message: str) -> None:
    with pytest.raises(InputError) as info:
        build_judge(spec, "judge")  # type: ignore[arg-type]
    assert message in str(info.value)


def test_every_kind_is_buildable() -> None:
    for kind in KINDS:
        if kind != "llm":
            assert build_judge(kind).kind in (kind, "all_of")


def test_a_case_picks_its_judge_and_the_panel_checks_cases_before_load() -> None:
    llm = {"kind": "llm", "base_url": "http://127.0.0.1:9/v1", "model": "m"}
    panel = build_panel({"kind": "all_of", "judges": ["exact", llm]})
    assert isinstance(panel.for_case(case(label="x", judge="llm")), LLMJudge)
    assert panel.for_case(case(label="x", judge="regex")) == RegexJudge()
    assert panel.for_case(case(label="x")) is panel.default
    with pytest.raises(InputError, match=r"case 'c1': expect: judge regex needs a regex"):
        panel.check([case(label="x", judge="regex")])
    with pytest.raises(InputError, match=r"expect.judge: unknown judge 'nope'"):
        panel.check([case(label="x", judge="nope")])
    plain = build_panel("aliases")
    with pytest.raises(InputError, match="the profile configures no llm judge"):
        plain.check([case(label="x", judge="llm")])
    named = build_panel("exact", judges={"loose": {"kind": "aliases", "match": "contains"}})
    assert named.judge(case(label="x", judge="loose"), "it is x").outcome == Outcome.CORRECT
