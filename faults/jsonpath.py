"""JSON paths of fault rules: jsonpath-ng (its ``ext`` dialect), with one error and ``set``.

The dialect is that of the declarative load profiles and of case files (``loadtests``,
``stampede.cases``): ``$``, ``.key``, ``['key']`` / ``["key"]``, ``[0]`` (negative: from the
end), ``[*]``, ``..key`` (at any depth), filters ``[?(@.x == 1)]``. This module adds only what
jsonpath-ng does not say the way the fault API needs it:

* ``compile_path(text)`` — the parsed path, or ``PathError`` (a ``ValueError``, so pydantic
  turns it into a 422) whatever jsonpath-ng's parser raised; parsed paths are cached (a rule's
  path is compiled once, not on every answer it rewrites);
* ``write_path(text)`` — the same for a path ``write`` can write at: jsonpath-ng parses some
  it cannot update (arithmetic ``$.a * 2``, ``$.a.`len```...), refused here;
* ``write(document, path, value, create)`` — jsonpath-ng's ``update`` (replace the values the
  path finds) plus ``create``: a path ending in ``.key`` also sets that key on every object its
  parent path finds (``update_or_create`` would also invent missing parents and pad lists,
  which a lying tool should not do). Returns the document (new when the path is ``$``) and the
  number of values written.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jsonpath_ng import Child, Descendants, Fields, JSONPath, Root
from jsonpath_ng.exceptions import JSONPathError
from jsonpath_ng.ext import parse

__all__ = ["JSONPath", "PathError", "compile_path", "write", "write_path"]


class PathError(ValueError):
    """A JSON path that does not parse; the message quotes it and says why."""


@lru_cache(maxsize=512)
def compile_path(text: str) -> JSONPath:
    """The parsed path ``text``; ``PathError`` when jsonpath-ng cannot read it."""
    if not text.strip():
        raise PathError("empty JSON path")
    try:
        return parse(text)
    # jsonpath-ng's lexer and parser raise their own errors, and on some inputs plain ones.
    except (JSONPathError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise PathError(f"JSON path {text!r}: cannot read it ({exc})") from exc


def _writable(expr: JSONPath) -> bool:
    """True when jsonpath-ng can update at ``expr`` (its last step has an ``update``)."""
    if type(expr).update is JSONPath.update:  # the base class: NotImplementedError
        return False
    if isinstance(expr, Child | Descendants):
        return _writable(expr.right)
    return True


@lru_cache(maxsize=512)
def write_path(text: str) -> JSONPath:
    """``compile_path(text)`` for a path ``write`` can write at, else ``PathError``."""
    path = compile_path(text)
    if not _writable(path):
        raise PathError(f"JSON path {text!r}: cannot write at it ({type(path).__name__})")
    return path


def _created_key(expr: JSONPath) -> tuple[JSONPath, tuple[str, ...]] | None:
    """(parent path, keys) when ``expr`` ends in named keys (``.key``, ``['a','b']``)."""
    if isinstance(expr, Child) and isinstance(expr.right, Fields):
        keys = tuple(expr.right.fields)
        if "*" not in keys:
            return expr.left, keys
    return None


def write(document: Any, path: JSONPath, value: Any, create: bool) -> tuple[Any, int]:
    """Write ``value`` where ``path`` points (see the module docstring); (document, written)."""
    if isinstance(path, Root):
        return value, 1
    keyed = _created_key(path) if create else None
    if keyed is not None:
        parent, keys = keyed
        written = 0
        for found in parent.find(document):
            if isinstance(found.value, dict):
                for key in keys:
                    found.value[key] = value
                    written += 1
        return document, written
    matches = path.find(document)
    if matches:
        document = path.update(document, value)
    return document, len(matches)
