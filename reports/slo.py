"""Read an SLO file (format in docs/slo.md) into ``Slo``; errors name file, line and field.

The YAML is composed into nodes first so every value keeps its line: a semantic error reads
``slo.yaml:7: objectives[2].op: '=<' is not one of <, <=, >, >=, ==, !=``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

from reports.catalogue import ALL, PHASES, SLIS, SliParams
from reports.errors import ReportsError, where

OPERATORS = ("<", "<=", ">", ">=", "==", "!=")
PHASE_CHOICES = (*PHASES, ALL, "*")
MISSING_CHOICES = ("fail", "skip")
_OBJECTIVE_KEYS = ("name", "sli", "op", "threshold", "scope", "missing", "description")
_TOP_KEYS = ("version", "params", "objectives")


@dataclass(frozen=True)
class Scope:
    """``experiment`` None = the whole run; a name, a list of names or ``*``; phase likewise."""

    experiments: tuple[str, ...] | None = None
    phase: str = ALL

    @property
    def is_run(self) -> bool:
        return self.experiments is None


@dataclass(frozen=True)
class Objective:
    """One objective: ``sli op threshold`` in ``scope``; ``line`` is where it starts."""

    name: str
    sli: str
    op: str
    threshold: float | bool
    scope: Scope = field(default_factory=Scope)
    missing: str = "fail"
    description: str = ""
    index: int = 0
    line: int | None = None


@dataclass(frozen=True)
class Slo:
    """A parsed SLO file."""

    path: str
    params: SliParams
    objectives: tuple[Objective, ...]


class _Lines:
    """Maps a dotted path (``objectives[2].op``) to the line of its YAML node."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lines: dict[str, int] = {}
        self._constructor = yaml.SafeLoader("")

    def walk(self, node: yaml.Node, at: str) -> Any:
        self.lines[at] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self._constructor.construct_object(key_node, deep=True)
                sub = f"{at}.{key}" if at else str(key)
                if key in out:
                    self.fail(sub, f"duplicate key {key!r}", key_node.start_mark.line + 1)
                out[key] = self.walk(value_node, sub)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.walk(item, f"{at}[{i}]") for i, item in enumerate(node.value)]
        return self._constructor.construct_object(node, deep=True)

    def line(self, at: str) -> int | None:
        while at:
            if at in self.lines:
                return self.lines[at]
            at = at.rsplit(".", 1)[0] if "." in at else (at.rsplit("[", 1)[0] if "[" in at else "")
        return self.lines.get("")

    def fail(self, at: str, problem: str, line: int | None = None) -> NoReturn:
        raise ReportsError(f"{where(self.path, line or self.line(at))}: {at}: {problem}")


def _compose(text: str, path: str) -> tuple[Any, _Lines]:
    lines = _Lines(path)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "syntax error"
        if exc.context:
            problem += f" ({exc.context})"
        raise ReportsError(
            f"{where(path, mark.line + 1 if mark else None)}: invalid YAML: {problem}"
        ) from exc
    except yaml.YAMLError as exc:
        raise ReportsError(f"{path}: invalid YAML: {exc}") from exc
    if node is None:
        raise ReportsError(f"{path}: empty file (expected a mapping with 'objectives')")
    try:
        return lines.walk(node, ""), lines
    except yaml.YAMLError as exc:
        raise ReportsError(f"{path}: invalid YAML: {exc}") from exc


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _params(raw: Any, lines: _Lines) -> SliParams:
    if raw is None:
        return SliParams()
    if not isinstance(raw, dict):
        lines.fail("params", f"expected a mapping, got {type(raw).__name__}")
    defaults = SliParams()
    known = tuple(defaults.__dataclass_fields__)
    for key in raw:
        if key not in known:
            lines.fail(f"params.{key}", f"unknown parameter (known: {', '.join(known)})")
    label = raw.get("replicas_label", defaults.replicas_label)
    if not isinstance(label, str) or not label:
        lines.fail("params.replicas_label", f"expected a non-empty string, got {label!r}")
    for key, value in raw.items():
        if key != "replicas_label" and (not _is_number(value) or value <= 0):
            lines.fail(f"params.{key}", f"expected a positive number, got {value!r}")
    ratio = raw.get("recovery_success_ratio", defaults.recovery_success_ratio)
    if ratio > 1:
        lines.fail("params.recovery_success_ratio", f"expected a ratio in (0, 1], got {ratio!r}")
    sustain = raw.get("recovery_sustain_s", defaults.recovery_sustain_s)
    if int(sustain) != sustain:
        lines.fail("params.recovery_sustain_s", f"expected whole seconds, got {sustain!r}")
    return SliParams(
        goodput_latency_ms=float(raw.get("goodput_latency_ms", defaults.goodput_latency_ms)),
        recovery_success_ratio=float(ratio),
        recovery_sustain_s=int(sustain),
        replicas_label=label,
    )


def _scope(raw: Any, at: str, sli: str, lines: _Lines) -> Scope:
    if raw is None:
        return Scope()
    if not isinstance(raw, dict):
        lines.fail(at, f"expected a mapping with experiment and/or phase, got {raw!r}")
    for key in raw:
        if key not in ("experiment", "phase"):
            lines.fail(f"{at}.{key}", "unknown key (known: experiment, phase)")
    experiment = raw.get("experiment", "*")
    names = [experiment] if isinstance(experiment, str) else experiment
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        lines.fail(
            f"{at}.experiment", f"expected a name, a list of names or '*', got {experiment!r}"
        )
    if "*" in names and len(names) > 1:
        lines.fail(f"{at}.experiment", "'*' cannot be combined with names")
    phase = raw.get("phase", ALL)
    if phase not in PHASE_CHOICES:
        lines.fail(f"{at}.phase", f"{phase!r} is not one of {', '.join(PHASE_CHOICES)}")
    allowed = SLIS[sli].scopes
    if phase == "*" and not any(p in allowed for p in PHASES):
        lines.fail(f"{at}.phase", f"{sli} has no per-phase value: use phase {ALL}")
    if phase != "*" and phase not in allowed:
        defined = ", ".join(p for p in (ALL, *PHASES) if p in allowed)
        lines.fail(f"{at}.phase", f"{sli} is not defined for phase {phase} (only: {defined})")
    return Scope(experiments=tuple(names), phase=phase)


def _objective(raw: Any, i: int, lines: _Lines) -> Objective:
    at = f"objectives[{i}]"
    if not isinstance(raw, dict):
        lines.fail(at, f"expected a mapping with sli, op and threshold, got {raw!r}")
    for key in raw:
        if key not in _OBJECTIVE_KEYS:
            lines.fail(f"{at}.{key}", f"unknown key (known: {', '.join(_OBJECTIVE_KEYS)})")
    for key in ("sli", "op", "threshold"):
        if key not in raw:
            lines.fail(at, f"missing required key {key!r}")
    sli = raw["sli"]
    if sli not in SLIS:
        lines.fail(f"{at}.sli", f"unknown SLI {sli!r} (known: {', '.join(SLIS)})")
    op = raw["op"]
    if op not in OPERATORS:
        lines.fail(f"{at}.op", f"{op!r} is not one of {', '.join(OPERATORS)}")
    threshold = raw["threshold"]
    boolean = SLIS[sli].unit == "bool"
    if boolean and not isinstance(threshold, bool):
        lines.fail(f"{at}.threshold", f"{sli} is true/false, got {threshold!r}")
    if boolean and op not in ("==", "!="):
        lines.fail(f"{at}.op", f"{sli} is true/false: use == or !=, not {op}")
    if not boolean and not _is_number(threshold):
        lines.fail(f"{at}.threshold", f"expected a number, got {threshold!r}")
    missing = raw.get("missing", "fail")
    if missing not in MISSING_CHOICES:
        lines.fail(f"{at}.missing", f"{missing!r} is not one of {', '.join(MISSING_CHOICES)}")
    for key in ("name", "description"):
        if key in raw and not isinstance(raw[key], str):
            lines.fail(f"{at}.{key}", f"expected a string, got {raw[key]!r}")
    scope = _scope(raw.get("scope"), f"{at}.scope", sli, lines)
    if scope.is_run and "run" not in SLIS[sli].scopes:
        lines.fail(at, f"{sli} has no run-wide value: give a scope")
    shown = str(threshold).lower() if boolean else f"{threshold:g}"
    return Objective(
        name=raw.get("name") or f"{sli} {op} {shown}",
        sli=sli,
        op=op,
        threshold=threshold if boolean else float(threshold),
        scope=scope,
        missing=missing,
        description=raw.get("description", ""),
        index=i,
        line=lines.line(at),
    )


def parse_slo(text: str, path: str = "slo.yaml") -> Slo:
    """Parse SLO file text; ``path`` is only used in messages."""
    data, lines = _compose(text, path)
    if not isinstance(data, dict):
        raise ReportsError(
            f"{where(path, lines.line(''))}: expected a mapping with 'objectives', "
            f"got {type(data).__name__}"
        )
    for key in data:
        if key not in _TOP_KEYS:
            lines.fail(str(key), f"unknown key (known: {', '.join(_TOP_KEYS)})")
    if data.get("version", 1) != 1:
        lines.fail("version", f"unsupported version {data['version']!r} (supported: 1)")
    objectives = data.get("objectives")
    if not isinstance(objectives, list) or not objectives:
        lines.fail("objectives", "expected a non-empty list of objectives")
    parsed = tuple(_objective(raw, i, lines) for i, raw in enumerate(objectives))
    seen: dict[str, int] = {}
    for o in parsed:
        if o.name in seen:
            lines.fail(
                f"objectives[{o.index}].name",
                f"duplicate name {o.name!r} (also objectives[{seen[o.name]}])",
            )
        seen[o.name] = o.index
    return Slo(path=path, params=_params(data.get("params"), lines), objectives=parsed)


def load_slo(path: Path | str) -> Slo:
    """Read and parse an SLO file; a missing or unreadable file is a ReportsError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ReportsError(f"{path}: SLO file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportsError(f"{path}: cannot read: {exc}") from exc
    return parse_slo(text, str(path))
