"""Case files: JSON Lines and YAML read into cases; a malformed one names file, line, field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stampede.cases import Case, Expect, files, load_cases
from stampede.errors import InputError

GOOD = [
    {"id": "a", "input": {"q": "2+2?"}, "expect": {"number": 4, "tolerance": 0.5}, "tags": ["m"]},
    {"id": "b", "input": {"q": "capital of France?"}, "expect": {"label": "Paris",
     "aliases": ["paris, france"]}, "weight": 2.5, "repeat": 3},
    {"id": "c", "input": {}, "expect": {"json_path": "$.answer[0]", "value": None}},
    {"id": "d", "input": {"q": "why?"}, "expect": {"judge": "llm", "rubric": "be kind"}},
]  # fmt: skip


def _jsonl(tmp_path: Path, entries: list, name: str = "cases.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(e) + "\n" for e in entries), encoding="utf-8")
    return path


def _error(path: Path) -> str:
    with pytest.raises(InputError) as info:
        load_cases(path)
    return str(info.value)


def test_jsonl_cases_are_read_with_every_field(tmp_path: Path) -> None:
    cases = load_cases(_jsonl(tmp_path, GOOD))
    assert [c.id for c in cases] == ["a", "b", "c", "d"]
    assert cases[0] == Case("a", {"q": "2+2?"}, Expect(number=4.0, tolerance=0.5), ("m",))
    assert cases[1].expect.accepted() == ("Paris", "paris, france")
    assert (cases[1].weight, cases[1].repeat) == (2.5, 3)
    assert cases[2].expect.json_path == "$.answer[0]" and cases[2].expect.value is None
    assert cases[3].expect.checks() == () and cases[3].expect.judge == "llm"
    assert cases[1].source == f"{tmp_path / 'cases.jsonl'}:2"


def test_blank_lines_are_skipped_and_line_numbers_stay_true(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps(GOOD[0]) + "\n\n" + '{"id": "x", "input": {}}\n')
    assert _error(path) == f"{path}:3: case 'x': expect: Field required"


def test_yaml_list_and_cases_mapping_give_the_same_cases(tmp_path: Path) -> None:
    listed = tmp_path / "a.yaml"
    listed.write_text(
        "- id: a\n  input: {q: '2+2?'}\n  expect: {number: 4, tolerance: 0.5}\n  tags: [m]\n"
    )
    mapped = tmp_path / "b.yml"
    mapped.write_text(
        "cases:\n  - id: a\n    input:\n      q: '2+2?'\n    expect:\n      number: 4\n"
        "      tolerance: 0.5\n    tags: [m]\n"
    )
    assert load_cases(listed) == load_cases(mapped) == load_cases(_jsonl(tmp_path, GOOD[:1]))
    assert load_cases(mapped)[0].source == f"{mapped}:2"


def _line(**fields: object) -> str:
    return json.dumps({"id": "a", "input": {}, **fields})


X = {"label": "x"}
MALFORMED = [
    ("label-type", _line(expect={"label": 7}), "expect.label: Input should be a valid string"),
    ("input-type", _line(input=[], expect=X), "input: Input should be a valid dictionary"),
    ("weight-zero", _line(expect=X, weight=0), "weight: Input should be greater than 0"),
    ("unknown-field", _line(expect=X, colour=1), "colour: Extra inputs are not permitted"),
    ("aliases-alone", _line(expect={"aliases": ["x"]}), "expect: aliases without a label"),
    ("bad-regex", _line(expect={"regex": "("}), "expect: regex '(' does not compile"),
    ("value-alone", _line(expect={"value": 1}), "expect: value without a json_path"),
    ("bad-path", _line(expect={"json_path": "a b", "value": 1}), "JSON path 'a b': cannot read"),
    ("tolerance-alone", _line(expect={"tolerance": 1}), "expect: tolerance without a number"),
    ("nothing", _line(expect={}), "expect: nothing to check"),
    ("number-bool", _line(expect={"number": True}), "expect.number: Input should be a valid num"),
    ("empty-id", _line(id="", expect=X), "case '': id: String should match pattern"),
    ("id-type", _line(id=3, expect=X), ": id: Input should be a valid string"),
    ("repeat-zero", _line(expect=X, repeat=0), "repeat: Input should be greater than or equal"),
    ("not-object", '["a"]', "a case is an object, got list"),
    ("bad-json", '{"id": "a", "input": {', "not valid JSON: Expecting property name"),
]


@pytest.mark.parametrize(
    ("line", "problem"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_a_malformed_jsonl_case_names_file_line_and_field(
    tmp_path: Path, line: str, problem: str
) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps(GOOD[0]) + "\n" + line + "\n")
    message = _error(path)
    assert message.startswith(f"{path}:2:"), message
    assert problem in message, message


def test_a_malformed_yaml_case_names_the_line_of_the_field(tmp_path: Path) -> None:
    path = tmp_path / "cases.yaml"
    path.write_text(
        "- id: a\n  input: {}\n  expect: {label: x}\n"
        "- id: b\n  input: {}\n  expect:\n    label: x\n    number: 'four'\n"
    )
    assert _error(path) == f"{path}:8: case 'b': expect.number: Input should be a valid number"


def test_yaml_unquoted_ids_that_are_not_strings_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "cases.yaml"
    path.write_text("- id: 001\n  input: {}\n  expect: {label: x}\n")
    assert _error(path) == f"{path}:1: id: Input should be a valid string"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "no cases (an empty case file)"),
        ("# only a comment\n", "no cases (an empty case file)"),
        ("cases: []\n", "no cases (an empty case file)"),
        ("cases:\n", "no cases (an empty case file)"),
        ("a: 1\n", ":1: a YAML case file is a list, or a mapping with only 'cases'"),
        ("just text\n", ":1: expected a list of cases"),
        ("- id: a\n  input: {\n", "not valid YAML"),
        ("- [1, 2]\n", ":1: a case is an object, got list"),
    ],
    ids=["empty", "comment", "empty-list", "null-list", "other-mapping", "scalar", "bad-yaml",
         "not-object"],
)  # fmt: skip
def test_empty_or_misshapen_yaml_files_are_refused(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "cases.yaml"
    path.write_text(text)
    message = _error(path)
    assert message.startswith(str(path)) and problem in message, message


def test_an_empty_jsonl_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text("\n  \n")
    assert _error(path) == f"{path}: no cases (an empty case file)"


def test_duplicate_ids_name_both_lines(tmp_path: Path) -> None:
    path = _jsonl(tmp_path, [GOOD[0], GOOD[1], GOOD[0]])
    assert _error(path) == f"{path}:3: id: 'a' repeats the case of {path}:1"


def test_unknown_suffix_missing_file_and_binary_are_refused(tmp_path: Path) -> None:
    assert "a case file ends in .jsonl, .yaml, .yml" in _error(tmp_path / "cases.csv")
    assert "cannot read the case file" in _error(tmp_path / "missing.jsonl")
    binary = tmp_path / "bin.jsonl"
    binary.write_bytes(b"\xff\xfe\x00")
    assert "not UTF-8 text" in _error(binary)


def test_size_and_count_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _jsonl(tmp_path, GOOD)
    monkeypatch.setattr(files, "MAX_CASES", 3)
    assert _error(path) == f"{path}: more than 3 cases"
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 100)
    assert "MiB limit of a case file" in _error(path)


def test_as_entries_round_trips_through_a_file(tmp_path: Path) -> None:
    cases = load_cases(_jsonl(tmp_path, GOOD))
    again = load_cases(_jsonl(tmp_path, files.as_entries(cases), "again.jsonl"))
    assert again == cases
