"""Text judges: exact, normalised, aliases, regex.

``normalise`` folds case (Unicode casefold, NFKC), turns punctuation into spaces and collapses
whitespace, so ``"DB-connection  exhaustion."`` and ``db_connection_exhaustion`` are equal.
``match: contains`` accepts an answer that mentions the expected text as whole words.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from stampede.cases import Case
from stampede.judges.base import Judgement, answer_text, shorten

__all__ = [
    "ANSWER_KEY_CHARS",
    "AliasesJudge",
    "ExactJudge",
    "Match",
    "NormalisedJudge",
    "RegexJudge",
    "answer_key",
    "normalise",
]

Match = Literal["equals", "contains"]
MATCHES: tuple[Match, ...] = ("equals", "contains")


def normalise(text: str) -> str:
    """Casefolded, punctuation as spaces, whitespace collapsed, stripped (idempotent)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    spaced = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in folded)
    return " ".join(spaced.split())


#: Hex digits of an :func:`answer_key` (48 bits: collisions are negligible among K answers).
ANSWER_KEY_CHARS = 12


def answer_key(answer: Any) -> str:
    """A short stable digest of the normalised answer, for consistency; "" when there is none.

    Text is normalised first (:func:`normalise`: ``"Paris."`` and ``"paris"`` have one key);
    any other JSON value is keyed by its canonical JSON (sorted keys, compact). None, an empty or
    punctuation-only text have no answer: "".
    """
    if answer is None:
        return ""
    text = normalise(answer) if isinstance(answer, str) else answer_text(answer)
    if not text:
        return ""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:ANSWER_KEY_CHARS]


def _matches(text: str, expected: str, match: Match) -> bool:
    if match == "equals":
        return text == expected
    return bool(expected) and f" {expected} " in f" {text} "


@dataclass(frozen=True)
class ExactJudge:
    """The answer is the label, character for character (``contains``: includes it)."""

    match: Match = "equals"
    kind: str = "exact"

    def problem(self, case: Case) -> str | None:
        return None if case.expect.label is not None else f"judge {self.kind} needs a label"

    def judge(self, case: Case, answer: Any) -> Judgement:
        text = answer_text(answer)
        label = case.expect.label or ""
        if text == label if self.match == "equals" else label in text:
            return Judgement.correct()
        verb = "does not contain" if self.match == "contains" else "!="
        return Judgement.wrong(f"answer {shorten(text)!r} {verb} expected {label!r}")


@dataclass(frozen=True)
class NormalisedJudge:
    """The normalised answer is the normalised label (``contains``: mentions it)."""

    match: Match = "equals"
    kind: str = "normalised"

    def problem(self, case: Case) -> str | None:
        return None if case.expect.label is not None else f"judge {self.kind} needs a label"

    def judge(self, case: Case, answer: Any) -> Judgement:
        text = answer_text(answer)
        label = case.expect.label or ""
        if _matches(normalise(text), normalise(label), self.match):
            return Judgement.correct()
        verb = "does not mention" if self.match == "contains" else "!="
        return Judgement.wrong(f"answer {shorten(text)!r} {verb} expected {label!r} (normalised)")


@dataclass(frozen=True)
class AliasesJudge:
    """Like ``normalised``, against the label and every alias; the reason names the one hit."""

    match: Match = "equals"
    kind: str = "aliases"

    def problem(self, case: Case) -> str | None:
        return None if case.expect.label is not None else f"judge {self.kind} needs a label"

    def judge(self, case: Case, answer: Any) -> Judgement:
        text = answer_text(answer)
        folded = normalise(text)
        for accepted in case.expect.accepted():
            if _matches(folded, normalise(accepted), self.match):
                hit = "" if accepted == case.expect.label else f"alias {accepted!r}"
                return Judgement.correct(hit)
        names = ", ".join(repr(a) for a in case.expect.accepted())
        return Judgement.wrong(f"answer {shorten(text)!r} matches none of {names}")


@lru_cache(maxsize=1024)
def _compiled(pattern: str, flags: int) -> re.Pattern[str]:
    return re.compile(pattern, flags)


@dataclass(frozen=True)
class RegexJudge:
    """``re.search`` of ``expect.regex`` in the answer (``full``: the whole answer matches)."""

    ignore_case: bool = False
    full: bool = False
    kind: str = "regex"

    def problem(self, case: Case) -> str | None:
        if case.expect.regex is None:
            return f"judge {self.kind} needs a regex"
        try:
            _compiled(case.expect.regex, self._flags())
        except re.error as exc:
            return f"regex {case.expect.regex!r} does not compile: {exc}"
        return None

    def _flags(self) -> int:
        return re.IGNORECASE if self.ignore_case else 0

    def judge(self, case: Case, answer: Any) -> Judgement:
        text = answer_text(answer)
        pattern = _compiled(case.expect.regex or "", self._flags())
        found = pattern.fullmatch(text) if self.full else pattern.search(text)
        if found:
            return Judgement.correct()
        how = "does not fully match" if self.full else "does not match"
        return Judgement.wrong(f"answer {shorten(text)!r} {how} /{case.expect.regex}/")
