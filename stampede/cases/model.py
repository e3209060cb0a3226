"""A case: one question put to the agent and what a correct answer contains.

``Case.input`` holds the values the request template uses (for the reference agent: the alert
itself, so its request body is ``dict(case.input)``); ``Case.expect`` says what a correct
answer contains. A judge (``stampede.judges``) turns a case and an answer into an outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Case", "Expect"]


@dataclass(frozen=True)
class Expect:
    """What a correct answer contains; a case sets one or more of these.

    * ``label``: the answer (text, or the field a profile reads) is this label;
      ``aliases`` are other acceptable spellings of it.
    * ``regex``: the answer text matches this regular expression (``re.search``).
    * ``number`` and ``tolerance``: a number in the answer is within ``tolerance`` (absolute).
    * ``json_path`` and ``value``: the JSON answer holds ``value`` at ``json_path``
      (``$.a.b[0]``); ``value`` may be any JSON value, null included.
    * ``judge``: the judge for this case by kind (``exact``, ``normalised``, ``aliases``,
      ``regex``, ``number``, ``json_path``, ``all_of``, ``any_of``, ``llm``), overriding the
      profile's; None lets the profile decide.
    * ``rubric``: extra instructions for an LLM judge about this case.
    """

    label: str | None = None
    aliases: tuple[str, ...] = ()
    regex: str | None = None
    number: float | None = None
    tolerance: float = 0.0
    json_path: str | None = None
    value: Any = None
    judge: str | None = None
    rubric: str | None = None

    def checks(self) -> tuple[str, ...]:
        """The judge kinds this expectation can be checked by, from the fields that are set."""
        found: list[str] = []
        if self.label is not None:
            found.append("aliases" if self.aliases else "exact")
        if self.regex is not None:
            found.append("regex")
        if self.number is not None:
            found.append("number")
        if self.json_path is not None:
            found.append("json_path")
        return tuple(found)

    def accepted(self) -> tuple[str, ...]:
        """The label and its aliases, label first (empty when there is no label)."""
        return () if self.label is None else (self.label, *self.aliases)


@dataclass(frozen=True)
class Case:
    """One question with its expected answer.

    ``weight`` is the relative chance of drawing the case (all 1.0: uniform); ``repeat`` asks
    the case that many times within a phase (None: the run's default). ``source`` says where
    the case was read (``file:line``) for error messages; it takes no part in equality.
    """

    id: str
    input: Mapping[str, Any]
    expect: Expect
    tags: tuple[str, ...] = ()
    weight: float = 1.0
    repeat: int | None = None
    source: str = field(default="", compare=False)

    def __hash__(self) -> int:
        return hash(self.id)

    def where(self) -> str:
        """``case 'id' (file:line)`` for messages."""
        return f"case {self.id!r}" + (f" ({self.source})" if self.source else "")
