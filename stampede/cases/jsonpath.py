"""JSON paths of case files, in the dialect of declarative profiles: ``jsonpath-ng`` (``ext``).

``$.answer.causes[0]``, ``answer.causes[0]``, ``$['odd key'][-1]``, ``$..name``, filters: one
dialect for ``expect.json_path`` and a profile's ``response.*`` paths, so a path that works in
one works in the other. :meth:`JsonPath.get` gives one value: the first the path finds (what a
declarative profile reads), or :class:`PathMissing` naming the step that found nothing.

Exceptions::

    ValueError
    └── PathError     a path that does not parse
    LookupError
    └── PathMissing   the data has no value at the path
"""

from __future__ import annotations

from typing import Any

from jsonpath_ng import Child, Fields, Index, JSONPath
from jsonpath_ng.exceptions import JSONPathError
from jsonpath_ng.ext import parse as parse_json_path

__all__ = ["JsonPath", "PathError", "PathMissing"]


class PathError(ValueError):
    """A path that does not parse; the message says why."""


class PathMissing(LookupError):
    """The data has no value at the path; the message says which step is missing."""


class JsonPath:
    """A parsed path (``jsonpath-ng``); :meth:`get` finds its first value in decoded JSON."""

    __slots__ = ("expr", "text")

    def __init__(self, text: str) -> None:
        if not isinstance(text, str) or not text.strip():
            raise PathError("empty JSON path")
        self.text = text
        try:
            self.expr: JSONPath = parse_json_path(text.strip())
        except (JSONPathError, ValueError, TypeError, AttributeError) as exc:
            raise PathError(f"JSON path {text!r}: cannot read it ({exc})") from exc

    def __repr__(self) -> str:
        return f"JsonPath({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JsonPath) and other.expr == self.expr

    def __hash__(self) -> int:
        return hash(str(self.expr))

    def get(self, data: Any) -> Any:
        """The first value at this path in ``data``; raises PathMissing naming the missing step."""
        found = self.expr.find(data)
        if not found:
            raise PathMissing(f"{self.text}: {_missing(self.expr, data)}")
        return found[0].value


def _shown(expr: JSONPath) -> str:
    text = str(expr).replace(".[", "[")
    return text if text.startswith("$") else f"$.{text}"


def _step(expr: JSONPath) -> str:
    if isinstance(expr, Fields) and len(expr.fields) == 1:
        return f"key {expr.fields[0]!r}"
    if isinstance(expr, Index) and len(expr.indices) == 1:
        return f"item [{expr.indices[0]}]"
    return f"match for {str(expr)!r}"


def _missing(expr: JSONPath, data: Any) -> str:
    """``no key 'b' at $.a``: the first step of a ``Child`` chain that finds nothing."""
    if isinstance(expr, Child):
        if not expr.left.find(data):
            return _missing(expr.left, data)
        return f"no {_step(expr.right)} at {_shown(expr.left)}"
    return f"no {_step(expr)} at $"
