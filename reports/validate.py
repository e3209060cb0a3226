"""Valid numbers only: every number a run directory holds is finite and physically possible.

``reports.load`` calls :func:`validate_run` once the run directory is read. A value that cannot
be (an infinite or negative latency, negative tokens, status 700, a request an hour outside the
run) is a ``ReportsError`` naming the file, the line (``requests.csv``/``samples.csv``: the
1-based line of the file, the header being line 1) or the field (run.json, a journal), and the
problem; the CLIs exit 2.

The rules, by column (:data:`REQUEST_RULES`, :data:`SAMPLE_RULES`); a column the table does not
name gets the rule of its kind (:func:`rule_for`: ``*_ts`` a timestamp, ``*_ms``/``*_s`` a
duration, ``*_usd`` a cost), so a new column of the contract is covered the day it is added:

* timestamps inside the run window (run.json ``started_at``..``ended_at``) with
  :data:`WINDOW_SLACK_S` either side (clocks of another host, a request logged as it ends);
* latencies, durations, tokens, cost, retries, attempts: ``>= 0`` (whole where they count);
* ``status``: a whole number in 0..599 (0: no HTTP answer);
* everything finite. An empty cell (NaN after loading) is "not recorded" and passes; the
  loader has already refused a cell that is text, ``nan`` included, in its text path.

Vectorized (numpy over whole columns): the cost at 10M rows is a few passes over each numeric
column. Only when a value is bad is the file read again, to name the line of the first one in
file order (the loaded frame is sorted by ``ts``).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reports.errors import ReportsError, where

#: Seconds a timestamp may lie outside the run window (run.json started_at..ended_at).
WINDOW_SLACK_S = 60.0


@dataclass(frozen=True)
class Rule:
    """What a numeric value must be: finite, within ``[low, high]``, whole, in the window."""

    what: str  # "a latency", for messages
    low: float | None = None
    high: float | None = None
    whole: bool = False
    window: bool = False  # a timestamp: inside the run window (with the slack)

    def bad(self, values: np.ndarray, window: tuple[float, float]) -> np.ndarray:
        """A boolean mask of the values that break the rule (NaN, an empty cell, passes)."""
        with np.errstate(invalid="ignore"):
            bad = np.isinf(values)
            if self.low is not None:
                bad |= values < self.low
            if self.high is not None:
                bad |= values > self.high
            if self.whole:
                bad |= np.isfinite(values) & (np.floor(values) != values)
            if self.window:
                bad |= (values < window[0] - WINDOW_SLACK_S) | (values > window[1] + WINDOW_SLACK_S)
        return bad

    def problem(self, value: float, window: tuple[float, float]) -> str:
        """Why ``value`` breaks the rule, for the message."""
        if math.isinf(value):
            return f"{value} is not finite"
        if self.window:
            return (
                f"{value!r} is outside the run window {window[0]!r}..{window[1]!r} "
                f"(± {WINDOW_SLACK_S:g} s; run.json started_at/ended_at)"
            )
        if self.whole and value != math.floor(value):
            return f"{value!r} is not a whole number ({self.what})"
        span = f"{self.low:g}..{self.high:g}" if self.high is not None else f">= {self.low:g}"
        return f"{value:g} is not {span} ({self.what})"


TIMESTAMP = Rule("a timestamp", window=True)
DURATION = Rule("a duration", low=0.0)
COUNT = Rule("a count", low=0.0, whole=True)
COST = Rule("a cost", low=0.0)
STATUS = Rule("an HTTP status, 0 for none", low=0.0, high=599.0, whole=True)
GAUGE = Rule("a sampled metric", low=0.0)

#: The numeric columns of requests.csv (docs/contracts.md) and their rules.
REQUEST_RULES: dict[str, Rule] = {
    "ts": TIMESTAMP,
    "latency_ms": DURATION,
    "status": STATUS,
    "tokens": COUNT,
    "cost_usd": COST,
    "retries": COUNT,
    "attempt": COUNT,
    "repeat": COUNT,
}
#: The numeric columns of samples.csv and their rules (every canonical metric is >= 0).
SAMPLE_RULES: dict[str, Rule] = {"ts": TIMESTAMP, "value": GAUGE}
#: The text columns (no rule): everything else in the contract is a number.
TEXT_COLUMNS = frozenset(
    {"name", "outcome", "replica", "experiment", "error", "case_id", "trial", "answer_key"}
    | {"metric", "label"}
)
_KINDS: tuple[tuple[str, Rule], ...] = (
    ("_ts", TIMESTAMP),
    ("_ms", DURATION),
    ("_s", DURATION),
    ("_usd", COST),
    ("tokens", COUNT),
    ("retries", COUNT),
)


def rule_for(column: str, rules: Mapping[str, Rule] = REQUEST_RULES) -> Rule | None:
    """The rule of ``column``: from the table, else by its kind (suffix), else None."""
    if column in rules:
        return rules[column]
    return next((rule for suffix, rule in _KINDS if column.endswith(suffix)), None)


def validate_run(
    run_dir: Path,
    run: Mapping[str, Any],
    window: tuple[float, float],
    requests: pd.DataFrame,
    samples: pd.DataFrame,
    journals: Mapping[str, Any],
) -> None:
    """ReportsError for the first impossible number of the run directory (see the module)."""
    check_json(run_dir / "run.json", run, window)
    check_frame(run_dir / "requests.csv", requests, REQUEST_RULES, window)
    check_frame(run_dir / "samples.csv", samples, SAMPLE_RULES, window)
    named = {
        e.get("name"): e.get("journal")
        for e in run.get("experiments") or []
        if isinstance(e, dict) and isinstance(e.get("journal"), str)
    }
    for name, journal in journals.items():
        if journal is not None:
            check_journal(run_dir / (named.get(name) or f"chaos/{name}/journal.json"), journal)


def check_frame(
    path: Path, frame: pd.DataFrame, rules: Mapping[str, Rule], window: tuple[float, float]
) -> None:
    """ReportsError ``path:line: column: problem`` for the first bad value of ``frame``."""
    for column in frame.columns:
        rule = rule_for(str(column), rules)
        if rule is None or not pd.api.types.is_numeric_dtype(frame[column]):
            continue
        values = frame[column].to_numpy(dtype=float, copy=False)
        bad = rule.bad(values, window)
        if bool(bad.any()):
            row, value = _first_in_file(path, str(column), rule, window)
            shown = value if row is not None else float(values[bad.nonzero()[0][0]])
            line = _file_line(path, row) if row is not None else None
            problem = rule.problem(shown, window)
            raise ReportsError(f"{where(path, line)}: {column}: {problem}")


def _first_in_file(
    path: Path, column: str, rule: Rule, window: tuple[float, float]
) -> tuple[int | None, float]:
    """(0-based data row, value) of the first bad value in file order; (None, nan) if unread."""
    try:
        text = pd.read_csv(path, usecols=[column], dtype=str, keep_default_na=False)[column]
    except (OSError, ValueError, pd.errors.ParserError):
        return None, math.nan
    values = pd.to_numeric(text.str.strip(), errors="coerce").to_numpy(dtype=float)
    bad = rule.bad(values, window).nonzero()[0]
    return (int(bad[0]), float(values[bad[0]])) if len(bad) else (None, math.nan)


def _file_line(path: Path, row: int) -> int:
    """The 1-based line where data row ``row`` starts (quoted newlines, blank lines skipped)."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        seen = -1
        start = reader.line_num + 1
        for record in reader:
            if record:  # pandas skips blank lines
                seen += 1
                if seen == row:
                    return start
            start = reader.line_num + 1
    return start


# -- run.json and journals ----------------------------------------------------------------

_COUNTS = frozenset(
    {"users", "requests", "scrapes", "failures", "rows", "dropped", "locust_total", "workers"}
    | {"lost_investigations", "sampled", "probe_requests", "unverified"}
)
_TIMES = frozenset({"started_at", "ended_at", "sent_at"})


def _numbers(value: Any, at: str = "") -> Iterator[tuple[str, str, float]]:
    """(dotted path, key, number) of every number in a JSON value (iterative, no recursion)."""
    stack: list[tuple[str, str, Any]] = [(at, "", value)]
    while stack:
        path, key, item = stack.pop()
        if isinstance(item, dict):
            stack.extend((f"{path}.{k}" if path else str(k), str(k), v) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", key, v) for i, v in enumerate(item))
        elif isinstance(item, int | float) and not isinstance(item, bool):
            yield path, key, float(item)


def _first_bad(
    path: Path, value: Any, check: Callable[[str, str, float], str | None], at: str = ""
) -> None:
    problems = [(p, why) for p, k, n in _numbers(value, at) if (why := check(p, k, n))]
    if problems:
        field, why = min(problems)
        raise ReportsError(f"{path}: {field}: {why}")


def check_json(path: Path, run: Mapping[str, Any], window: tuple[float, float]) -> None:
    """run.json: every number finite; counts whole and >= 0; times inside the window."""

    def check(field: str, key: str, number: float) -> str | None:
        if not math.isfinite(number):
            return f"{number} is not finite"
        if key in _COUNTS and (number < 0 or number != int(number)):
            return f"{number:g} is not a whole number >= 0 (a count)"
        if (
            key in _TIMES
            and field.startswith("experiments")
            and TIMESTAMP.bad(np.array([number]), window).any()
        ):
            return TIMESTAMP.problem(number, window)
        return None

    _first_bad(path, dict(run), check)


def check_journal(path: Path, journal: Any) -> None:
    """A Chaos Toolkit journal: every ``duration`` (seconds) finite and >= 0.

    Only the journal's own figures: an activity's ``output`` is the target's data (a probe may
    well answer NaN), which the report does not read as a number.
    """

    def check(field: str, key: str, number: float) -> str | None:
        if key != "duration" or ".output" in field:
            return None
        if not math.isfinite(number):
            return f"{number} is not finite"
        if number < 0:
            return f"{number:g} is not >= 0 (a duration in seconds)"
        return None

    _first_bad(path, journal, check)
