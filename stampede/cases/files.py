"""Case files: JSON Lines (``.jsonl``) or YAML (``.yaml``/``.yml``), one case per entry.

An entry::

    {"id": "INC-001", "input": {"service": "checkout", ...},
     "expect": {"label": "db_connection_exhaustion", "aliases": ["db pool exhausted"]},
     "tags": ["high_latency"], "weight": 1.0, "repeat": 3}

``expect`` sets at least one of ``label`` (+ ``aliases``), ``regex``, ``number`` (+
``tolerance``), ``json_path`` (+ ``value``), or names ``judge: llm``. A YAML file is a list of
entries or a mapping ``{cases: [...]}``. Every problem raises :class:`~stampede.errors.InputError`
naming the file, the line (JSONL: the line; YAML: the entry's or the field's line) and the field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, model_validator

from stampede.cases.jsonpath import JsonPath, PathError
from stampede.cases.model import Case, Expect
from stampede.errors import InputError
from stampede.yamlinput import child, describe, load_json, load_yaml

__all__ = ["MAX_CASES", "MAX_FILE_BYTES", "SUFFIXES", "as_entries", "load_cases", "parse_cases"]

#: Refused above this size: cases are loaded into every Locust worker.
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_CASES = 100_000
SUFFIXES = (".jsonl", ".yaml", ".yml")
_ID = re.compile(r"^[^\s].{0,199}$", re.DOTALL)


class _ExpectModel(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    label: str | None = Field(None, min_length=1)
    aliases: list[str] = []
    regex: str | None = None
    number: float | None = None
    tolerance: float = Field(0.0, ge=0.0)
    json_path: str | None = None
    value: JsonValue = None
    judge: str | None = Field(None, pattern=r"^[a-z][a-z0-9_]*$")
    rubric: str | None = None

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        given = self.model_fields_set
        if self.aliases and self.label is None:
            raise ValueError("aliases without a label")
        if "tolerance" in given and self.number is None:
            raise ValueError("tolerance without a number")
        if "value" in given and self.json_path is None:
            raise ValueError("value without a json_path")
        if self.number is not None and not math.isfinite(self.number):
            raise ValueError(f"number {self.number} is not finite")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise ValueError(f"regex {self.regex!r} does not compile: {exc}") from exc
        if self.json_path is not None:
            try:
                JsonPath(self.json_path)
            except PathError as exc:
                raise ValueError(str(exc)) from exc
        checks = ("label", "regex", "number", "json_path")
        if not any(getattr(self, name) is not None for name in checks) and self.judge != "llm":
            raise ValueError(
                "nothing to check: set label, regex, number or json_path (or judge: llm)"
            )
        return self


class _CaseModel(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    id: str = Field(pattern=_ID.pattern)
    input: dict[str, JsonValue]
    expect: _ExpectModel
    tags: list[str] = []
    weight: float = Field(1.0, gt=0.0, allow_inf_nan=False)
    repeat: int | None = Field(None, ge=1, le=1000)

    def case(self, source: str) -> Case:
        e = self.expect
        expect = Expect(
            label=e.label,
            aliases=tuple(e.aliases),
            regex=e.regex,
            number=e.number,
            tolerance=e.tolerance,
            json_path=e.json_path,
            value=e.value,
            judge=e.judge,
            rubric=e.rubric,
        )
        return Case(self.id, self.input, expect, tuple(self.tags), self.weight, self.repeat, source)


def load_cases(path: str | Path) -> tuple[Case, ...]:
    """Read and validate a case file; raises InputError naming file, line and field."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise InputError(f"{path}: a case file ends in {', '.join(SUFFIXES)}")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(
                f"{path}: {size / 1e6:.1f} MB, over the {MAX_FILE_BYTES // 2**20} MiB limit "
                "of a case file"
            )
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read the case file: {exc.strerror or exc}") from exc
    return parse_cases(text, str(path), "jsonl" if path.suffix.lower() == ".jsonl" else "yaml")


def parse_cases(text: str, name: str, kind: str) -> tuple[Case, ...]:
    """Validate the ``kind`` (``jsonl`` or ``yaml``) text of case file ``name``."""
    entries = _jsonl_entries(text, name) if kind == "jsonl" else _yaml_entries(text, name)
    cases: list[Case] = []
    seen: dict[str, str] = {}
    for line, data, node in entries:
        if len(cases) >= MAX_CASES:
            raise InputError(f"{name}: more than {MAX_CASES} cases")
        case = _validate(data, name, line, node)
        if case.id in seen:
            raise InputError(f"{name}:{line}: id: {case.id!r} repeats the case of {seen[case.id]}")
        seen[case.id] = case.source
        cases.append(case)
    if not cases:
        raise InputError(f"{name}: no cases (an empty case file)")
    return tuple(cases)


def _validate(data: Any, name: str, line: int, node: yaml.Node | None) -> Case:
    if not isinstance(data, dict):
        raise InputError(f"{name}:{line}: a case is an object, got {_kind(data)}")
    try:
        model = _CaseModel.model_validate(data)
    except ValidationError as exc:
        case_id = data.get("id")
        which = f"case {case_id!r}: " if isinstance(case_id, str) else ""
        raise InputError(describe(exc, name, node, line=line, prefix=which, top="case")) from exc
    return model.case(f"{name}:{line}")


def _kind(data: Any) -> str:
    return "null" if data is None else type(data).__name__


def _jsonl_entries(text: str, name: str) -> Iterator[tuple[int, Any, None]]:
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        yield number, load_json(raw, name, line=number, limit=MAX_FILE_BYTES), None


def _yaml_entries(text: str, name: str) -> list[tuple[int, Any, yaml.Node]]:
    data, root = load_yaml(text, name, limit=MAX_FILE_BYTES)
    if root is None:
        return []
    items: Any = data
    nodes: yaml.Node | None = root
    if isinstance(data, dict):
        if set(data) != {"cases"}:
            raise InputError(
                f"{name}:1: a YAML case file is a list, or a mapping with only 'cases'"
            )
        items, nodes = data["cases"], child(root, "cases")
        if items is None:
            return []
    if not isinstance(items, list) or not isinstance(nodes, yaml.SequenceNode):
        raise InputError(f"{name}:{root.start_mark.line + 1}: expected a list of cases")
    return [(n.start_mark.line + 1, item, n) for item, n in zip(items, nodes.value, strict=True)]


def as_entries(cases: Sequence[Case]) -> list[dict[str, Any]]:
    """The case-file entries of ``cases`` (defaults left out), ready for :func:`json.dumps`."""
    return [_entry(case) for case in cases]


def _entry(case: Case) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": case.id, "input": dict(case.input)}
    expect = {
        k: (list(v) if isinstance(v, tuple) else v) for k, v in _expect_fields(case.expect).items()
    }
    entry["expect"] = expect
    if case.tags:
        entry["tags"] = list(case.tags)
    if case.weight != 1.0:
        entry["weight"] = case.weight
    if case.repeat is not None:
        entry["repeat"] = case.repeat
    return entry


def _expect_fields(expect: Expect) -> Mapping[str, Any]:
    defaults = Expect()
    out = {
        name: getattr(expect, name)
        for name in ("label", "aliases", "regex", "number", "tolerance", "json_path", "judge")
        if getattr(expect, name) != getattr(defaults, name)
    }
    if expect.json_path is not None:
        out["value"] = expect.value
    if expect.rubric is not None:
        out["rubric"] = expect.rubric
    return out
