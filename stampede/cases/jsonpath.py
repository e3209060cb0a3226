"""A small JSON path: ``$.answer.causes[0]``, ``answer.causes[0]``, ``$['odd key'][-1]``.

Enough to point at one value in an agent's JSON reply or a case's expected JSON (no wildcards,
filters or slices: a path names exactly one value or none). ``$`` (the root) is optional.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["JsonPath", "PathError", "PathMissing"]

_TOKEN = re.compile(
    r"""\.(?P<name>[A-Za-z_][A-Za-z0-9_\-]*)
      | \[(?P<index>-?\d+)\]
      | \[(?P<quote>['"])(?P<key>(?:(?!(?P=quote)).)*)(?P=quote)\]""",
    re.VERBOSE,
)

Step = str | int


class PathError(ValueError):
    """A path that does not parse; the message says where."""


class PathMissing(LookupError):
    """The data has no value at the path; the message says which step is missing."""


class JsonPath:
    """A parsed path; :meth:`get` finds its value in decoded JSON."""

    __slots__ = ("steps", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.steps: tuple[Step, ...] = _parse(text)

    def __repr__(self) -> str:
        return f"JsonPath({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JsonPath) and other.steps == self.steps

    def __hash__(self) -> int:
        return hash(self.steps)

    def get(self, data: Any) -> Any:
        """The value at this path in ``data``; raises PathMissing naming the missing step."""
        value = data
        walked = "$"
        for step in self.steps:
            if isinstance(step, int):
                if not isinstance(value, list) or not -len(value) <= step < len(value):
                    raise PathMissing(f"{self.text}: no item [{step}] at {walked}")
                value = value[step]
                walked += f"[{step}]"
            else:
                if not isinstance(value, dict) or step not in value:
                    raise PathMissing(f"{self.text}: no key {step!r} at {walked}")
                value = value[step]
                walked += f".{step}"
        return value


def _parse(text: str) -> tuple[Step, ...]:
    if not isinstance(text, str) or not text.strip():
        raise PathError("empty JSON path")
    rest = text.strip()
    if rest.startswith("$"):
        rest = rest[1:]
    elif not rest.startswith((".", "[")):
        rest = "." + rest
    steps: list[Step] = []
    pos = 0
    while pos < len(rest):
        match = _TOKEN.match(rest, pos)
        if match is None:
            raise PathError(
                f"JSON path {text!r}: cannot read {rest[pos:]!r} "
                "(expected .name, [index] or ['key'])"
            )
        if match["name"] is not None:
            steps.append(match["name"])
        elif match["index"] is not None:
            steps.append(int(match["index"]))
        else:
            steps.append(match["key"])
        pos = match.end()
    return tuple(steps)
