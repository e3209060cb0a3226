"""Content faults on whole JSON answers: JSON-path rules, LLM rewrites, corrupt bodies."""

from __future__ import annotations

import json
from typing import Any

import pytest

from faults.content import apply_rules, corrupt, rewrite_completion, usage_tokens
from faults.jsonpath import PathError, compile_path, write_path
from faults.model import FaultSpec, JsonRule


def tool_answer() -> dict[str, Any]:
    return {
        "tool": "get_logs",
        "findings": [{"supports": "db", "n": 1}, {"supports": "db", "n": 2}],
        "data": {"p99": 90},
    }


def test_compile_path_reads_the_dialect_and_names_a_bad_path() -> None:
    document = {"a": [{"b c": [[1, 2], [3, 4]]}]}
    found = compile_path('$.a[0]["b c"][*][-1]').find(document)
    assert [match.value for match in found] == [2, 4]
    assert compile_path("$") is compile_path("$")  # parsed once, cached
    for bad in ("$.a[", "$ .", "", "$[?(@.x ==]"):
        with pytest.raises(PathError, match=r"JSON path|empty"):
            compile_path(bad)
    for unwritable in ("$.a * 2", "$.a.`len`"):
        compile_path(unwritable)
        with pytest.raises(PathError, match="cannot write at it"):
            write_path(unwritable)


@pytest.mark.parametrize(
    ("rule", "expected", "written"),
    [
        (JsonRule(path="$.findings[*].supports", value="dns"), ["dns", "dns"], 2),
        (JsonRule(path="$.findings[-1].supports", value="dns"), ["db", "dns"], 1),
        (JsonRule(path="$.findings[5].supports", value="dns"), ["db", "db"], 0),
        (JsonRule(path="$..supports", value="dns"), ["dns", "dns"], 2),
        (JsonRule(path="$.findings[?(@.n == 2)].supports", value="dns"), ["db", "dns"], 1),
    ],
    ids=["wildcard", "negative-index", "out-of-range", "descendants", "filter"],
)
def test_rules_replace_values_at_a_path(rule: JsonRule, expected: list[str], written: int) -> None:
    value, count = apply_rules(tool_answer(), (rule,))
    assert [f["supports"] for f in value["findings"]] == expected
    assert count == written


def test_set_creates_a_missing_key_and_replace_does_not() -> None:
    value, count = apply_rules(
        tool_answer(),
        (
            JsonRule(path="$.data.p50", value=1, op="replace"),
            JsonRule(path="$.data.p99", value=4100, op="replace"),
            JsonRule(path="$.data.error_rate", value=0.5),
        ),
    )
    assert value["data"] == {"p99": 4100, "error_rate": 0.5}
    assert count == 2
    nested, written = apply_rules(
        tool_answer(), (JsonRule(path="$.findings[*].why", value="x"), JsonRule(path="$.no.k"))
    )
    assert [f["why"] for f in nested["findings"]] == ["x", "x"] and written == 2
    assert "no" not in nested  # set creates the last key only, never a missing parent
    whole, _ = apply_rules(tool_answer(), (JsonRule(path="$", value={"lie": True}),))
    assert whole == {"lie": True}


def completion(message: dict[str, Any]) -> dict[str, Any]:
    return {"choices": [{"index": 0, "message": message}], "usage": {"total_tokens": 42}}


def test_llm_content_replaces_answers_not_tool_calls() -> None:
    spec = FaultSpec(llm_content='{"root_cause": "dns"}')
    answer = completion({"role": "assistant", "content": '{"root_cause": "db"}'})
    assert rewrite_completion(answer, spec) == 1
    assert answer["choices"][0]["message"]["content"] == '{"root_cause": "dns"}'
    calls = completion({"role": "assistant", "content": None, "tool_calls": [{"function": {}}]})
    assert rewrite_completion(calls, spec) == 0


def test_llm_tool_arguments_replace_the_named_calls() -> None:
    def call(name: str) -> dict[str, Any]:
        return {"id": name, "function": {"name": name, "arguments": '{"service": "checkout"}'}}

    answer = completion({"role": "assistant", "tool_calls": [call("get_logs"), call("get_pods")]})
    spec = FaultSpec(llm_tool_arguments={"service": "nowhere"}, llm_tool_name="get_logs")
    assert rewrite_completion(answer, spec) == 1
    arguments = [c["function"]["arguments"] for c in answer["choices"][0]["message"]["tool_calls"]]
    assert [json.loads(a)["service"] for a in arguments] == ["nowhere", "checkout"]


def test_corrupt_bodies_never_parse() -> None:
    raw = json.dumps(tool_answer()).encode()
    for how in ("truncate", "malformed"):
        broken = corrupt(raw, how)
        with pytest.raises(ValueError):
            json.loads(broken)
    assert corrupt(raw, "truncate") == raw[: len(raw) // 2]
    assert corrupt(b"[1, 2]", "malformed") == b"[1, 2,]"


def test_usage_tokens() -> None:
    assert usage_tokens({"usage": {"total_tokens": 7}}) == 7
    assert usage_tokens({"usage": {"prompt_tokens": 3, "completion_tokens": 4}}) == 7
    assert usage_tokens({"usage": None}) is None
    assert usage_tokens([1]) is None
