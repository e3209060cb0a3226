"""Number and JSON path judges."""

from __future__ import annotations

import pytest

from stampede.contract import Outcome
from stampede.judges import JsonPathJudge, NumberJudge, numbers_in
from tests.judges.support import case


def test_numbers_in_text_and_json() -> None:
    assert numbers_in("took 1,234.5 ms then -3 and 2e3, .5") == [1234.5, -3.0, 2000.0, 0.5]
    assert numbers_in(42) == [42.0]
    assert numbers_in(True) == []
    assert numbers_in({"a": 1.5}) == [1.5]
    assert numbers_in("none here") == []


@pytest.mark.parametrize(
    ("judge", "answer", "outcome"),
    [
        (NumberJudge(), "The answer is 42.", Outcome.CORRECT),
        (NumberJudge(), "2 steps, total 42.4", Outcome.CORRECT),
        (NumberJudge(), "2 steps, total 42.6", Outcome.WRONG),
        (NumberJudge(), "42 first, then 7", Outcome.WRONG),
        (NumberJudge(pick="first"), "42 first, then 7", Outcome.CORRECT),
        (NumberJudge(pick="any"), "7, 42, 9", Outcome.CORRECT),
        (NumberJudge(), 41.5, Outcome.CORRECT),
        (NumberJudge(), "no number", Outcome.WRONG),
        (NumberJudge(relative=0.1), "45", Outcome.CORRECT),
        (NumberJudge(relative=0.1), "47", Outcome.WRONG),
    ],
    ids=["last", "within", "outside", "last-not-first", "first", "any", "json-number",
         "none", "relative-in", "relative-out"],
)  # fmt: skip
def test_number_judge(judge: NumberJudge, answer: object, outcome: Outcome) -> None:
    assert judge.judge(case(number=42, tolerance=0.5), answer).outcome == outcome


def test_number_reasons() -> None:
    judge = NumberJudge()
    assert judge.judge(case(number=42, tolerance=0.5), "got 50").reason == (
        "number 50 != expected 42 ± 0.5"
    )
    assert judge.judge(case(number=1), "n/a").reason == "no number in answer 'n/a'"
    assert judge.problem(case(label="x")) == "judge number needs a number"


@pytest.mark.parametrize(
    ("path", "value", "answer", "outcome"),
    [
        ("$.cause", "oom", {"cause": "oom"}, Outcome.CORRECT),
        ("cause", "oom", '{"cause": "oom"}', Outcome.CORRECT),
        ("$.causes[1].name", "b", {"causes": [{"name": "a"}, {"name": "b"}]}, Outcome.CORRECT),
        ("$.n", 1, {"n": 1.0}, Outcome.CORRECT),
        ("$.n", 1, {"n": True}, Outcome.WRONG),
        ("$.n", None, {"n": None}, Outcome.CORRECT),
        ("$.n", None, {}, Outcome.WRONG),
        ("$.obj", {"a": [1, 2]}, {"obj": {"a": [1.0, 2]}}, Outcome.CORRECT),
        ("$.cause", "oom", "not json", Outcome.WRONG),
        ("$.cause", "oom", {"cause": "OOM"}, Outcome.WRONG),
    ],
    ids=["dict", "text-json", "nested", "int-float", "bool-not-number", "null", "missing",
         "object", "not-json", "case-sensitive"],
)  # fmt: skip
def test_json_path_judge(path: str, value: object, answer: object, outcome: Outcome) -> None:
    result = JsonPathJudge().judge(case(json_path=path, value=value), answer)
    assert result.outcome == outcome, result


def test_json_path_reasons() -> None:
    judge = JsonPathJudge()
    c = case(json_path="$.a.b", value=2)
    assert judge.judge(c, {"a": {"b": 3}}).reason == "$.a.b is 3, expected 2"
    assert judge.judge(c, {"a": {}}).reason == "$.a.b: no key 'b' at $.a"
    assert judge.problem(case(label="x")) == "judge json_path needs a json_path"
