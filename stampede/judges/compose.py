"""All-of and any-of: judges composed, and the default judge built from a case's expectation.

``all_of`` is correct when every judge is; the first ``wrong`` decides (later judges, an LLM
judge say, are not asked). ``any_of`` is correct when one judge is; judges that cannot judge
the case (no regex for a regex judge) are skipped. Either is ``unjudged`` when no judge said
``wrong`` (all_of) or ``correct`` (any_of) and one could not decide.

Without explicit judges, both use the checks the case's ``expect`` sets (``Expect.checks``):
``label`` -> exact (aliases when it has aliases), ``regex``, ``number``, ``json_path``. The
default judge of a profile is ``all_of`` over those (kind ``auto``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from stampede.cases import Case
from stampede.contract import Outcome
from stampede.judges.base import Judge, Judgement
from stampede.judges.structured import JsonPathJudge, NumberJudge
from stampede.judges.text import AliasesJudge, ExactJudge, NormalisedJudge, RegexJudge

__all__ = ["CHECK_JUDGES", "AllOf", "AnyOf"]

#: The judge of each check an expectation can set (``Expect.checks``), with default options.
CHECK_JUDGES: Mapping[str, Judge] = MappingProxyType(
    {
        "exact": ExactJudge(),
        "normalised": NormalisedJudge(),
        "aliases": AliasesJudge(),
        "regex": RegexJudge(),
        "number": NumberJudge(),
        "json_path": JsonPathJudge(),
    }
)


def _children(judges: Sequence[Judge] | None, case: Case) -> list[Judge]:
    if judges is not None:
        return list(judges)
    return [CHECK_JUDGES[check] for check in case.expect.checks()]


def _unjudged(results: Sequence[tuple[Judge, Judgement]]) -> Judgement:
    reasons = "; ".join(
        f"{j.kind}: {r.reason}" for j, r in results if r.outcome == Outcome.UNJUDGED
    )
    return Judgement.unjudged(reasons)


@dataclass(frozen=True)
class AllOf:
    """Correct when every judge is (``judges`` None: every check of the case's ``expect``)."""

    judges: tuple[Judge, ...] | None = None
    kind: str = "all_of"

    def problem(self, case: Case) -> str | None:
        children = _children(self.judges, case)
        if not children:
            return "nothing to check: expect sets no label, regex, number or json_path"
        for judge in children:
            problem = judge.problem(case)
            if problem is not None:
                return problem
        return None

    def judge(self, case: Case, answer: Any) -> Judgement:
        results: list[tuple[Judge, Judgement]] = []
        for judge in _children(self.judges, case):
            result = judge.judge(case, answer)
            if result.outcome == Outcome.WRONG:
                return result
            results.append((judge, result))
        if any(r.outcome == Outcome.UNJUDGED for _, r in results):
            return _unjudged(results)
        reasons = "; ".join(r.reason for _, r in results if r.reason)
        return Judgement.correct(reasons)


@dataclass(frozen=True)
class AnyOf:
    """Correct when one judge is; judges that cannot judge the case are skipped."""

    judges: tuple[Judge, ...] | None = None
    kind: str = "any_of"

    def _usable(self, case: Case) -> list[Judge]:
        return [j for j in _children(self.judges, case) if j.problem(case) is None]

    def problem(self, case: Case) -> str | None:
        if self._usable(case):
            return None
        children = _children(self.judges, case)
        if not children:
            return "nothing to check: expect sets no label, regex, number or json_path"
        return "; ".join(p for j in children if (p := j.problem(case)) is not None)

    def judge(self, case: Case, answer: Any) -> Judgement:
        results: list[tuple[Judge, Judgement]] = []
        for judge in self._usable(case):
            result = judge.judge(case, answer)
            if result.outcome == Outcome.CORRECT:
                return Judgement.correct(result.reason or f"by {judge.kind}")
            results.append((judge, result))
        if any(r.outcome == Outcome.UNJUDGED for _, r in results):
            return _unjudged(results)
        return Judgement.wrong("; ".join(f"{j.kind}: {r.reason}" for j, r in results))
