"""What every judge is: ``(case, answer) -> Judgement``, and the helpers they share.

A judge decides whether an answer meets a case's expectation. It answers ``correct`` or
``wrong`` with a reason, or ``unjudged`` when it cannot decide (an LLM judge that failed or
timed out) — never ``correct`` by default. ``degraded``, ``shed`` and ``error`` are the
profile's business (how the agent said it was partial, refused, failed), not a judge's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from stampede.cases import Case
from stampede.contract import Outcome

__all__ = ["Judge", "Judgement", "answer_text", "shorten"]


@dataclass(frozen=True)
class Judgement:
    """A judge's decision: the outcome and why (empty reason for a plain ``correct``)."""

    outcome: Outcome
    reason: str = ""

    @classmethod
    def correct(cls, reason: str = "") -> Judgement:
        return cls(Outcome.CORRECT, reason)

    @classmethod
    def wrong(cls, reason: str) -> Judgement:
        return cls(Outcome.WRONG, reason)

    @classmethod
    def unjudged(cls, reason: str) -> Judgement:
        return cls(Outcome.UNJUDGED, reason)

    @property
    def is_correct(self) -> bool:
        return self.outcome == Outcome.CORRECT


@runtime_checkable
class Judge(Protocol):
    """Turns a case and an answer into a :class:`Judgement`.

    ``answer`` is text (``str``) or decoded JSON (``dict``, ``list``, a number, ``None``).
    :meth:`problem` says, before any request is sent, why this judge cannot judge ``case``
    (for instance a regex judge on a case without ``expect.regex``); None when it can.
    """

    @property
    def kind(self) -> str:
        """The judge's kind, as a spec names it (``aliases``, ``llm``)."""
        ...

    def judge(self, case: Case, answer: Any) -> Judgement: ...

    def problem(self, case: Case) -> str | None: ...


def answer_text(answer: Any) -> str:
    """The answer as text: a string as is, None as empty, anything else as compact JSON."""
    if isinstance(answer, str):
        return answer
    if answer is None:
        return ""
    return json.dumps(answer, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def shorten(text: str, limit: int = 80) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis (for reasons)."""
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 3] + "..."
