"""Judges of numbers and JSON: numeric tolerance, a JSON value at a path."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from stampede.cases import Case, JsonPath, PathError, PathMissing
from stampede.judges.base import Judgement, answer_text, shorten

__all__ = ["JsonPathJudge", "NumberJudge", "Pick", "numbers_in"]

Pick = Literal["first", "last", "any"]
PICKS: tuple[Pick, ...] = ("first", "last", "any")

_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+]?\.\d+")


def numbers_in(answer: Any) -> list[float]:
    """The numbers of an answer: a JSON number itself, else every number written in its text
    (``1,234.5`` is one number)."""
    if isinstance(answer, bool):
        return []
    if isinstance(answer, int | float):
        return [float(answer)] if math.isfinite(answer) else []
    found = []
    for text in _NUMBER.findall(answer_text(answer)):
        value = float(text.replace(",", ""))
        if math.isfinite(value):
            found.append(value)
    return found


@dataclass(frozen=True)
class NumberJudge:
    """A number in the answer is ``expect.number`` within the tolerance.

    The tolerance is the larger of ``expect.tolerance`` (absolute) and ``relative`` x
    ``|expect.number|``. ``pick`` says which number of a text answer counts: the ``last`` (an
    answer's conclusion, the default), the ``first``, or ``any``.
    """

    pick: Pick = "last"
    relative: float = 0.0
    kind: str = "number"

    def problem(self, case: Case) -> str | None:
        return None if case.expect.number is not None else f"judge {self.kind} needs a number"

    def judge(self, case: Case, answer: Any) -> Judgement:
        expected = float(case.expect.number or 0.0)
        allowed = max(case.expect.tolerance, self.relative * abs(expected))
        found = numbers_in(answer)
        if not found:
            return Judgement.wrong(f"no number in answer {shorten(answer_text(answer))!r}")
        chosen = found if self.pick == "any" else [found[0] if self.pick == "first" else found[-1]]
        for value in chosen:
            if abs(value - expected) <= allowed:
                return Judgement.correct()
        shown = ", ".join(f"{v:g}" for v in chosen)
        return Judgement.wrong(f"number {shown} != expected {expected:g} ± {allowed:g}")


def _same(got: Any, expected: Any) -> bool:
    """JSON equality, numbers by value (``1 == 1.0``) but never booleans as numbers."""
    if isinstance(got, bool) or isinstance(expected, bool):
        return type(got) is type(expected) and got == expected
    if isinstance(got, int | float) and isinstance(expected, int | float):
        return float(got) == float(expected)
    if isinstance(got, list) and isinstance(expected, list):
        return len(got) == len(expected) and all(map(_same, got, expected))
    if isinstance(got, dict) and isinstance(expected, dict):
        return got.keys() == expected.keys() and all(_same(got[k], expected[k]) for k in got)
    return type(got) is type(expected) and bool(got == expected)


@dataclass(frozen=True)
class JsonPathJudge:
    """The JSON answer holds ``expect.value`` at ``expect.json_path``.

    A text answer is decoded as JSON first; one that is not JSON is ``wrong``.
    """

    kind: str = "json_path"

    def problem(self, case: Case) -> str | None:
        if case.expect.json_path is None:
            return f"judge {self.kind} needs a json_path"
        try:
            JsonPath(case.expect.json_path)
        except PathError as exc:
            return str(exc)
        return None

    def judge(self, case: Case, answer: Any) -> Judgement:
        data = answer
        if isinstance(answer, str):
            try:
                data = json.loads(answer)
            except ValueError:
                return Judgement.wrong(f"answer is not JSON: {shorten(answer)!r}")
        path = JsonPath(case.expect.json_path or "$")
        try:
            got = path.get(data)
        except PathMissing as exc:
            return Judgement.wrong(str(exc))
        if _same(got, case.expect.value):
            return Judgement.correct()
        shown = shorten(json.dumps(got, ensure_ascii=False))
        expected = shorten(json.dumps(case.expect.value, ensure_ascii=False))
        return Judgement.wrong(f"{path.text} is {shown}, expected {expected}")
