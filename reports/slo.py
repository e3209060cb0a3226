"""Read an SLO file (format in docs/slo.md) into ``Slo``; errors name file, line and field.

The YAML is composed into nodes first so every value keeps its line: a semantic error reads
``slo.yaml:7: objectives[2].op: '=<' is not one of <, <=, >, >=, ==, !=``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

from reports.catalogue import ALL, PHASES, SLIS, SliParams
from reports.errors import ReportsError, where
from stampede.yamlinput import compose_yaml

OPERATORS = ("<", "<=", ">", ">=", "==", "!=")
PHASE_CHOICES = (*PHASES, ALL, "*")
MISSING_CHOICES = ("fail", "skip")
_OBJECTIVE_KEYS = ("name", "sli", "op", "threshold", "scope", "missing", "description")
_TOP_KEYS = ("version", "params", "objectives", "builtin")
#: The built-in objective judging each experiment's Chaos Toolkit verdict (docs/slo.md).
VERDICT_OBJECTIVE = "experiment-verdict"
#: What makes ``experiment-verdict`` fail: the journal's deviation and non-completed statuses.
VERDICT_FAILURES = ("deviated", "failed", "aborted", "interrupted")
_VERDICT_KEYS = ("enabled", "experiment", "fail_on", "missing")
# "+10%", "-5%", "10%", "2.5%": a threshold relative to a baseline run (``--baseline``).
_RELATIVE = re.compile(r"^\s*([+-]?)(\d+(?:\.\d+)?)\s*%\s*$")


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
    threshold: float | bool | None  # None for a relative objective: derived from the baseline
    scope: Scope = field(default_factory=Scope)
    missing: str = "fail"
    description: str = ""
    index: int = 0
    line: int | None = None
    relative: float | None = None  # "+10%" -> 0.10: threshold = baseline value * (1 + this)
    relative_text: str = ""  # as written, e.g. "+10%"
    builtin: bool = False  # the built-in experiment-verdict, not an objective of the file

    @property
    def target(self) -> str:
        """``op threshold`` as written: ``<= 5000`` or ``<= +10%`` (of the baseline)."""
        shown = self.relative_text or _shown(self.threshold)
        return f"{self.op} {shown}"


@dataclass(frozen=True)
class VerdictConfig:
    """``builtin.experiment_verdict``: which experiments, which journal outcomes fail it."""

    enabled: bool = True
    experiments: tuple[str, ...] = ("*",)
    fail_on: tuple[str, ...] = VERDICT_FAILURES
    missing: str = "fail"  # no journal at all: fail | skip
    line: int | None = None


@dataclass(frozen=True)
class Slo:
    """A parsed SLO file."""

    path: str
    params: SliParams
    objectives: tuple[Objective, ...]
    verdict: VerdictConfig = field(default_factory=VerdictConfig)

    @property
    def relative(self) -> tuple[Objective, ...]:
        """The objectives whose threshold is relative to a baseline run."""
        return tuple(o for o in self.objectives if o.relative is not None)


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
    """The data and line map of SLO text, read by the bounded loader (stampede.yamlinput)."""
    lines = _Lines(path)
    node = compose_yaml(text, path, ReportsError, invalid="invalid YAML")
    if node is None:
        raise ReportsError(f"{path}: empty file (expected a mapping with 'objectives')")
    try:
        return lines.walk(node, ""), lines
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        # A value no constructor can build (2001-02-30, a 5,000-digit integer), a key that
        # cannot be a key ([1]: x): the file is wrong, not the program.
        first = str(exc).strip().splitlines()
        raise ReportsError(f"{path}: invalid YAML: {first[0] if first else exc!r}") from exc


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
    rebilled = raw.get("rebilled_factor", defaults.rebilled_factor)
    if rebilled < 1:
        lines.fail("params.rebilled_factor", f"expected a factor >= 1, got {rebilled!r}")
    return SliParams(
        goodput_latency_ms=float(raw.get("goodput_latency_ms", defaults.goodput_latency_ms)),
        recovery_success_ratio=float(ratio),
        recovery_sustain_s=int(sustain),
        replicas_label=label,
        rebilled_factor=float(rebilled),
    )


def _scope(raw: Any, at: str, sli: str, lines: _Lines) -> Scope:
    if raw is None:
        return Scope()
    if not isinstance(raw, dict):
        lines.fail(at, f"expected a mapping with experiment and/or phase, got {raw!r}")
    for key in raw:
        if key not in ("experiment", "phase"):
            lines.fail(f"{at}.{key}", "unknown key (known: experiment, phase)")
    names = _names(raw.get("experiment", "*"), f"{at}.experiment", lines)
    phase = raw.get("phase", ALL)
    if phase not in PHASE_CHOICES:
        lines.fail(f"{at}.phase", f"{phase!r} is not one of {', '.join(PHASE_CHOICES)}")
    allowed = SLIS[sli].scopes
    if phase == "*" and not any(p in allowed for p in PHASES):
        lines.fail(f"{at}.phase", f"{sli} has no per-phase value: use phase {ALL}")
    if phase != "*" and phase not in allowed:
        defined = ", ".join(p for p in (ALL, *PHASES) if p in allowed)
        lines.fail(f"{at}.phase", f"{sli} is not defined for phase {phase} (only: {defined})")
    return Scope(experiments=names, phase=phase)


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
    threshold, relative, relative_text = _threshold(raw["threshold"], at, sli, op, lines)
    missing = raw.get("missing", "fail")
    if missing not in MISSING_CHOICES:
        lines.fail(f"{at}.missing", f"{missing!r} is not one of {', '.join(MISSING_CHOICES)}")
    for key in ("name", "description"):
        if key in raw and not isinstance(raw[key], str):
            lines.fail(f"{at}.{key}", f"expected a string, got {raw[key]!r}")
    scope = _scope(raw.get("scope"), f"{at}.scope", sli, lines)
    if scope.is_run and "run" not in SLIS[sli].scopes:
        lines.fail(at, f"{sli} has no run-wide value: give a scope")
    if raw.get("name") == VERDICT_OBJECTIVE:
        lines.fail(f"{at}.name", f"{VERDICT_OBJECTIVE!r} is the built-in objective's name")
    return Objective(
        name=raw.get("name") or f"{sli} {op} {relative_text or _shown(threshold)}",
        sli=sli,
        op=op,
        threshold=threshold,
        scope=scope,
        missing=missing,
        description=raw.get("description", ""),
        index=i,
        line=lines.line(at),
        relative=relative,
        relative_text=relative_text,
    )


def _shown(threshold: float | bool | None) -> str:
    if threshold is None:
        return "?"
    return str(threshold).lower() if isinstance(threshold, bool) else f"{threshold:g}"


def _threshold(
    value: Any, at: str, sli: str, op: str, lines: _Lines
) -> tuple[float | bool | None, float | None, str]:
    """``(threshold, relative fraction, relative text)``; a relative one has no threshold."""
    if SLIS[sli].unit == "bool":
        if not isinstance(value, bool):
            lines.fail(f"{at}.threshold", f"{sli} is true/false, got {value!r}")
        if op not in ("==", "!="):
            lines.fail(f"{at}.op", f"{sli} is true/false: use == or !=, not {op}")
        return value, None, ""
    if _is_number(value):
        return float(value), None, ""
    match = _RELATIVE.match(value) if isinstance(value, str) else None
    if match is None:
        lines.fail(
            f"{at}.threshold",
            f"expected a number or a percentage of the baseline ('+10%'), got {value!r}",
        )
    if op in ("==", "!="):
        lines.fail(f"{at}.threshold", f"a relative threshold needs <, <=, > or >=, not {op}")
    sign, number = match.group(1), float(match.group(2))
    if not sign:  # unsigned: the tolerant direction of the operator
        sign = "+" if op in ("<", "<=") else "-"
    fraction = number / 100 if sign == "+" else -number / 100
    if fraction <= -1:
        lines.fail(f"{at}.threshold", f"{value!r} would make the threshold zero or negative")
    return None, fraction, f"{sign}{number:g}%"


def _names(value: Any, at: str, lines: _Lines) -> tuple[str, ...]:
    """An ``experiment`` value: a name, a list of names or ``*``."""
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        lines.fail(at, f"expected a name, a list of names or '*', got {value!r}")
    if "*" in names and len(names) > 1:
        lines.fail(at, "'*' cannot be combined with names")
    return tuple(names)


def _verdict(raw: Any, lines: _Lines) -> VerdictConfig:
    """``builtin: {experiment_verdict: true | false | {enabled, experiment, fail_on, missing}}``."""
    if raw is None:
        return VerdictConfig()
    if not isinstance(raw, dict):
        lines.fail("builtin", f"expected a mapping (experiment_verdict: ...), got {raw!r}")
    for key in raw:
        if key != "experiment_verdict":
            lines.fail(f"builtin.{key}", "unknown built-in objective (known: experiment_verdict)")
    at = "builtin.experiment_verdict"
    value = raw.get("experiment_verdict", True)
    if isinstance(value, bool):
        return VerdictConfig(enabled=value, line=lines.line(at))
    if not isinstance(value, dict):
        lines.fail(at, f"expected true, false or a mapping, got {value!r}")
    for key in value:
        if key not in _VERDICT_KEYS:
            lines.fail(f"{at}.{key}", f"unknown key (known: {', '.join(_VERDICT_KEYS)})")
    enabled = value.get("enabled", True)
    if not isinstance(enabled, bool):
        lines.fail(f"{at}.enabled", f"expected true or false, got {enabled!r}")
    fail_on = value.get("fail_on", list(VERDICT_FAILURES))
    if not isinstance(fail_on, list) or any(f not in VERDICT_FAILURES for f in fail_on):
        lines.fail(
            f"{at}.fail_on", f"expected a list of {', '.join(VERDICT_FAILURES)}, got {fail_on!r}"
        )
    missing = value.get("missing", "fail")
    if missing not in MISSING_CHOICES:
        lines.fail(f"{at}.missing", f"{missing!r} is not one of {', '.join(MISSING_CHOICES)}")
    return VerdictConfig(
        enabled=enabled,
        experiments=_names(value.get("experiment", "*"), f"{at}.experiment", lines),
        fail_on=tuple(dict.fromkeys(fail_on)),
        missing=missing,
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
    return Slo(
        path=path,
        params=_params(data.get("params"), lines),
        objectives=parsed,
        verdict=_verdict(data.get("builtin"), lines),
    )


def require_baseline(slo: Slo, baseline: object | None) -> None:
    """A relative objective without a baseline run is bad input (exit 2), never a silent N/A."""
    if baseline is not None or not slo.relative:
        return
    o = slo.relative[0]
    raise ReportsError(
        f"{where(slo.path, o.line)}: objectives[{o.index}].threshold: {o.relative_text!r} is "
        "relative to a baseline run: give one with --baseline RUN_DIR"
    )


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
