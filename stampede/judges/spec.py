"""Judges from a spec (what a profile says) and the panel that picks one per case.

Spec: a kind name (``aliases``) or a mapping ``{kind: aliases, match: contains}``; see the
package docstring for every kind and option. :func:`build_judge` raises
:class:`~stampede.errors.InputError` naming the field (``judge.judges[1].kind``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stampede.cases import Case
from stampede.errors import InputError
from stampede.judges.base import Judge, Judgement
from stampede.judges.compose import CHECK_JUDGES, AllOf, AnyOf
from stampede.judges.llm import LLMJudge, LLMJudgeConfig
from stampede.judges.structured import PICKS, JsonPathJudge, NumberJudge
from stampede.judges.text import MATCHES, AliasesJudge, ExactJudge, NormalisedJudge, RegexJudge

__all__ = ["KINDS", "Panel", "build_judge", "build_panel"]

Spec = str | Mapping[str, Any] | None


def _choice(choices: tuple[str, ...]) -> Callable[[Any, str], str]:
    def check(value: Any, where: str) -> str:
        if value not in choices:
            raise InputError(f"{where}: {value!r}: expected one of {', '.join(choices)}")
        return str(value)

    return check


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{where}: {value!r}: expected true or false")
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise InputError(f"{where}: {value!r}: expected a number >= 0")
    return float(value)


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{where}: {value!r}: expected an integer")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise InputError(f"{where}: {value!r}: expected a string")
    return value


_MATCH = {"match": _choice(MATCHES)}
#: Options of each kind and how each is checked (composites and llm are built apart).
_OPTIONS: dict[str, tuple[type, dict[str, Callable[[Any, str], Any]]]] = {
    "exact": (ExactJudge, _MATCH),
    "normalised": (NormalisedJudge, _MATCH),
    "aliases": (AliasesJudge, _MATCH),
    "regex": (RegexJudge, {"ignore_case": _bool, "full": _bool}),
    "number": (NumberJudge, {"pick": _choice(PICKS), "relative": _number}),
    "json_path": (JsonPathJudge, {}),
}
_LLM_OPTIONS: dict[str, Callable[[Any, str], Any]] = {
    "base_url": _text,
    "model": _text,
    "rubric": _text,
    "api_key_env": _text,
    "timeout_s": _number,
    "concurrency": _int,
    "cache_size": _int,
    "max_answer_chars": _int,
    "temperature": _number,
}
#: Every judge kind a spec or a case's ``expect.judge`` may name.
KINDS: tuple[str, ...] = (*_OPTIONS, "all_of", "any_of", "auto", "llm")


def build_judge(spec: Spec, where: str = "judge") -> Judge:
    """The judge ``spec`` describes (None: ``auto``); InputError names the bad field."""
    if spec is None or isinstance(spec, str):
        kind, options = spec or "auto", {}
        kind_where = where
    elif isinstance(spec, Mapping):
        if "kind" not in spec:
            raise InputError(f"{where}.kind: required (one of {', '.join(KINDS)})")
        kind, options = spec["kind"], {k: v for k, v in spec.items() if k != "kind"}
        kind_where = f"{where}.kind"
    else:
        raise InputError(f"{where}: {spec!r}: expected a judge kind or a mapping with 'kind'")
    if kind not in KINDS:
        raise InputError(f"{kind_where}: unknown judge {kind!r} (known: {', '.join(KINDS)})")
    if kind in ("all_of", "any_of", "auto"):
        return _composite(kind, options, where)
    if kind == "llm":
        return _llm(options, where)
    factory, allowed = _OPTIONS[kind]
    values = _options(options, allowed, where, kind)
    judge: Judge = factory(**values)
    return judge


def _options(
    options: Mapping[str, Any],
    allowed: Mapping[str, Callable[[Any, str], Any]],
    where: str,
    kind: str,
) -> dict[str, Any]:
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        known = ", ".join(sorted(allowed)) or "none"
        raise InputError(f"{where}.{unknown[0]}: not an option of judge {kind} (options: {known})")
    return {name: allowed[name](value, f"{where}.{name}") for name, value in options.items()}


def _composite(kind: str, options: Mapping[str, Any], where: str) -> Judge:
    if kind == "auto":
        _options(options, {}, where, kind)
        return AllOf(None, kind="auto")
    unknown = sorted(set(options) - {"judges"})
    if unknown:
        raise InputError(f"{where}.{unknown[0]}: not an option of judge {kind} (options: judges)")
    specs = options.get("judges")
    if specs is None:
        children = None
    elif isinstance(specs, list) and specs:
        children = tuple(build_judge(s, f"{where}.judges[{i}]") for i, s in enumerate(specs))
    else:
        raise InputError(f"{where}.judges: expected a non-empty list of judges")
    return AllOf(children) if kind == "all_of" else AnyOf(children)


def _llm(options: Mapping[str, Any], where: str) -> LLMJudge:
    values = _options(options, _LLM_OPTIONS, where, "llm")
    for required in ("base_url", "model"):
        if required not in values:
            raise InputError(f"{where}.{required}: required by judge llm")
    try:
        return LLMJudge(LLMJudgeConfig(**values))
    except ValueError as exc:
        raise InputError(f"{where}.{exc}") from exc


def _walk(judge: Judge) -> Iterable[Judge]:
    yield judge
    children = getattr(judge, "judges", None)
    for child in children or ():
        yield from _walk(child)


@dataclass
class Panel:
    """The profile's default judge plus the judges a case may name in ``expect.judge``."""

    default: Judge
    named: dict[str, Judge] = field(default_factory=dict)

    def for_case(self, case: Case) -> Judge:
        name = case.expect.judge
        if name is None:
            return self.default
        judge = self.named.get(name)
        if judge is None:
            raise InputError(f"{case.where()}: expect.judge: {self._unknown(name)}")
        return judge

    def _unknown(self, name: str) -> str:
        if name == "llm":
            return "llm, but the profile configures no llm judge (judge: {kind: llm, ...})"
        return f"unknown judge {name!r} (known: {', '.join(sorted(self.named))})"

    def check(self, cases: Iterable[Case]) -> None:
        """Raise InputError for the first case its judge cannot judge (before any load)."""
        for case in cases:
            problem = self.for_case(case).problem(case)
            if problem is not None:
                raise InputError(f"{case.where()}: expect: {problem}")

    def judge(self, case: Case, answer: Any) -> Judgement:
        """The case's judge's judgement of ``answer``."""
        return self.for_case(case).judge(case, answer)


def build_panel(
    spec: Spec = None, judges: Mapping[str, Spec] | None = None, where: str = "judge"
) -> Panel:
    """A panel: ``spec`` is the default judge, ``judges`` extra named ones (``{llm: {...}}``).

    Every kind with default options can be named by a case; so can every judge in ``spec``'s
    tree by its kind (the ``llm`` judge of ``all_of: [aliases, llm]`` answers ``judge: llm``).
    """
    default = build_judge(spec, where)
    named: dict[str, Judge] = dict(CHECK_JUDGES)
    composites: dict[str, Judge] = {
        "all_of": AllOf(),
        "any_of": AnyOf(),
        "auto": AllOf(None, kind="auto"),
    }
    named.update(composites)
    for judge in _walk(default):
        if judge.kind == "llm":
            named["llm"] = judge
    for name, extra in (judges or {}).items():
        named[name] = build_judge(extra, f"judges.{name}")
    return Panel(default, named)
