"""The declarative profile file: its schema (pydantic), its templates and its sources.

:func:`parse_profile` validates the YAML text into a :class:`ProfileFile`; every problem raises
:class:`ProfileFileError` naming the file, the line (when the YAML says it) and the field:
``profile.yaml:7: response.answer: not a JSON path: '$..['``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Self

from jsonpath_ng.exceptions import JSONPathError
from jsonpath_ng.ext import parse as parse_json_path
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    PlainValidator,
    ValidationError,
    model_validator,
)

from stampede.errors import InputError
from stampede.judges import Panel, build_panel
from stampede.metricmap import MetricMap, MetricMapError, section_metric_map
from stampede.yamlinput import at, describe, line_of, load_yaml

__all__ = [
    "Body",
    "ProfileFile",
    "ProfileFileError",
    "Source",
    "SourceRef",
    "Template",
    "parse_profile",
]


class ProfileFileError(InputError):
    """A profile file that cannot be read or does not validate; the message names the field."""


# -- templates ------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_NAME = re.compile(r"^(key|case_id|input(\.[A-Za-z0-9_\-]+)*)$")


@dataclass(frozen=True)
class Template:
    """A string with ``{input.a.b}``, ``{key}``, ``{case_id}`` placeholders (``{{`` = ``{``)."""

    text: str

    def names(self) -> list[str]:
        """The placeholders in the string; raises ValueError for one that is not allowed."""
        found = [m[1] for m in _PLACEHOLDER.finditer(self.text) if m[1] is not None]
        for name in found:
            if not _NAME.match(name.strip()):
                raise ValueError(
                    f"unknown placeholder '{{{name}}}' (expected {{input.<field>}}, {{key}} "
                    "or {case_id}; write {{ and }} for literal braces)"
                )
        return [n.strip() for n in found]

    def whole(self) -> str | None:
        """The one placeholder when the string is nothing else (keeps the value's JSON type)."""
        match = _PLACEHOLDER.fullmatch(self.text.strip())
        return match[1].strip() if match is not None and match[1] is not None else None

    def fill(self, values: Mapping[str, Any]) -> Any:
        """The filled value; a whole-value placeholder keeps its type. KeyError if missing."""
        whole = self.whole()
        if whole is not None:
            return lookup(values, whole)

        def sub(match: re.Match[str]) -> str:
            if match[1] is None:
                return match[0][0]
            value = lookup(values, match[1].strip())
            return value if isinstance(value, str) else _json_text(value)

        return _PLACEHOLDER.sub(sub, self.text)


def _json_text(value: Any) -> str:
    return json.dumps(value)


def lookup(values: Mapping[str, Any], name: str) -> Any:
    """``input.a.b`` in ``{"input": {"a": {"b": ...}}}``; KeyError naming the missing part."""
    value: Any = values
    walked: list[str] = []
    for part in name.split("."):
        walked.append(part)
        if not isinstance(value, Mapping) or part not in value:
            raise KeyError(".".join(walked))
        value = value[part]
    return value


def _check_templates(value: Any) -> Any:
    """Every string in ``value`` (a JSON value) has only known placeholders."""
    if isinstance(value, str):
        Template(value).names()
    elif isinstance(value, Mapping):
        for item in value.values():
            _check_templates(item)
    elif isinstance(value, list):
        for item in value:
            _check_templates(item)
    return value


def fill_body(value: Any, values: Mapping[str, Any]) -> Any:
    """``value`` with every string filled as a :class:`Template`."""
    if isinstance(value, str):
        return Template(value).fill(values)
    if isinstance(value, Mapping):
        return {k: fill_body(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [fill_body(v, values) for v in value]
    return value


# -- sources: where a value is in the reply -------------------------------------------------


def _json_path(text: str) -> str:
    try:
        parse_json_path(text)
    except (JSONPathError, ValueError, TypeError) as exc:
        raise ValueError(f"not a JSON path: {text!r} ({exc})") from exc
    return text


JsonPathText = Annotated[str, Field(min_length=1), AfterValidator(_json_path)]
TemplateText = Annotated[str, AfterValidator(_check_templates)]


@dataclass(frozen=True)
class SourceRef:
    """Where a value is in a reply: a JSON path in the body, or a header (case-insensitive)."""

    path: str | None = None
    header: str | None = None

    def describe(self) -> str:
        return f"header {self.header}" if self.header is not None else str(self.path)


def _source(value: Any) -> SourceRef:
    if isinstance(value, SourceRef):
        return value
    if isinstance(value, str):
        return SourceRef(path=_json_path(value))
    if isinstance(value, dict) and len(value) == 1:
        ((kind, text),) = value.items()
        if kind in ("path", "header") and isinstance(text, str) and text:
            return SourceRef(path=_json_path(text)) if kind == "path" else SourceRef(header=text)
    raise ValueError(
        f"expected a JSON path ('$.answer'), {{header: NAME}} or {{path: PATH}}, got {value!r}"
    )


Source = Annotated[SourceRef, PlainValidator(_source)]
Body = JsonValue


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    path: Annotated[str, Field(pattern=r"^/"), AfterValidator(_check_templates)]
    name: str | None = None
    headers: dict[str, TemplateText] = {}
    body: Annotated[Body, AfterValidator(_check_templates)] = None


class Response(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer: Source
    status: Source | None = None
    id: Source | None = None
    tokens: Source | None = None
    cost_usd: Source | None = None
    retries: Source | None = None
    replica: Source | None = None


class Partial(BaseModel):
    """How a partial answer is expressed: a field's value (``path`` + ``values``) or a regex."""

    model_config = ConfigDict(extra="forbid")
    path: Source | None = None
    values: list[JsonValue] = []
    complete_values: list[JsonValue] = []
    regex: str | None = None
    claims: Literal["judged", "none"] = "judged"
    claim_regex: str | None = None

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if (self.path is None) == (self.regex is None):
            raise ValueError("set either path (with values) or regex")
        if self.path is not None and not self.values:
            raise ValueError("path needs values: the field values that mean partial")
        if self.complete_values and self.path is None:
            raise ValueError("complete_values needs path")
        if self.claim_regex is not None and self.claims == "none":
            raise ValueError("claim_regex with claims: none (a partial answer is never judged)")
        for name in ("regex", "claim_regex"):
            pattern = getattr(self, name)
            if pattern is not None:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValueError(f"{name} {pattern!r} does not compile: {exc}") from exc
        return self


class Shed(BaseModel):
    model_config = ConfigDict(extra="forbid")
    statuses: list[Annotated[int, Field(ge=100, le=599)]] = [429, 503]
    retry_after: Literal["required", "optional"] = "required"


class Lookup(BaseModel):
    model_config = ConfigDict(extra="forbid")
    method: Literal["GET", "POST"] = "GET"
    path: Annotated[str, Field(pattern=r"^/.*\{id\}")]
    id: Source | None = None


def _judge_spec(value: Any) -> str | dict[str, Any] | None:
    if value is None or isinstance(value, str | dict):
        return value
    raise ValueError(f"expected a judge kind (aliases) or a mapping with kind, got {value!r}")


JudgeSpec = Annotated[str | dict[str, Any] | None, PlainValidator(_judge_spec)]


def _metric_map(value: Any) -> MetricMap | None:
    if value is None or isinstance(value, MetricMap):
        return value
    raise ValueError(f"expected a MetricMap (see stampede.metricmap), got {type(value).__name__}")


class ProfileFile(BaseModel):
    """The whole profile file."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field("declarative", pattern=r"^[A-Za-z0-9_.\-]{1,64}$")
    request: Request
    response: Response
    partial: Partial | None = None
    shed: Shed = Shed()
    judge: JudgeSpec = None
    judges: dict[str, JudgeSpec] = {}
    lookup: Lookup | None = None
    #: The ``metrics:`` section, validated by :func:`stampede.metricmap.parse_metric_map` in
    #: :func:`parse_profile` (which knows the file's lines); None when the file has none.
    metrics: Annotated[MetricMap | None, PlainValidator(_metric_map)] = None


# -- parsing --------------------------------------------------------------------------------


def parse_profile(text: str, name: str) -> tuple[ProfileFile, Panel]:
    """Validate the YAML ``text`` of profile file ``name`` and build its judges.

    Raises ProfileFileError naming the file, the line and the field; the ``metrics:`` section
    is read by :mod:`stampede.metricmap` (the sampler's reader: one format, one set of errors).
    """
    data, root = load_yaml(text, name, ProfileFileError)
    if not isinstance(data, dict):
        raise ProfileFileError(f"{name}: expected a mapping with request, response, judge, ...")
    try:
        spec = ProfileFile.model_validate({k: v for k, v in data.items() if k != "metrics"})
    except ValidationError as exc:
        raise ProfileFileError(describe(exc, name, root, unknown=_unknown)) from exc
    if "metrics" in data:
        try:
            metric_map = section_metric_map(data, root, name)
        except MetricMapError as exc:
            raise ProfileFileError(str(exc)) from exc
        spec = spec.model_copy(update={"metrics": metric_map})
    try:
        panel = build_panel(spec.judge, spec.judges)
    except InputError as exc:
        field, _, message = str(exc).partition(": ")
        raise ProfileFileError(
            f"{at(name, line_of(root, _JUDGE_LOC.findall(field)))}: {field}: {message}"
        ) from exc
    return spec, panel


_JUDGE_LOC = re.compile(r"[^.\[\]]+")


def _unknown(loc: Sequence[str]) -> str:
    return "unknown field"
