"""YAML a person wrote, read so that every problem names its line: ``file:line: field: problem``.

The case files (:mod:`stampede.cases.files`), the metric maps (:mod:`stampede.metricmap`) and
the declarative profiles (``loadtests.declarative.model``) are YAML checked by pydantic; they
share this module, so a problem reads the same in each:

* :func:`load_yaml`: ``(data, node)``, the document and the node tree it was built from (the
  nodes' marks give the lines); a syntax error raises ``name:line: not valid YAML: problem``;
* :func:`child`: the value node of a key in a mapping node;
* :func:`line_of`: the line of the deepest node a pydantic ``loc`` reaches;
* :func:`describe`: ``name:line: field: problem`` for the first error of a ValidationError
  (pydantic's ``Value error, `` prefix and union-member tags left out of it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import yaml
from pydantic import ValidationError

from stampede.errors import InputError

__all__ = ["at", "child", "describe", "is_union_tag", "line_of", "load_yaml"]


def at(name: str, line: int | None) -> str:
    """``name:line``, or ``name`` alone when the line is not known."""
    return f"{name}:{line}" if line else name


def load_yaml(
    text: str, name: str, error: type[InputError] = InputError
) -> tuple[Any, yaml.Node | None]:
    """The document in ``text`` and its node tree (None, None when empty); ``error`` if not YAML.

    The data is what ``yaml.safe_load`` gives; the message of ``error`` names ``name``, the line
    of the problem (when YAML knows it) and the problem.
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(f"{at(name, line)}: not valid YAML: {problem}") from exc
    finally:
        loader.dispose()
    return data, node


def child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    """The value node of ``key`` in the mapping ``node`` (the last, as YAML keeps); else None."""
    if not isinstance(node, yaml.MappingNode):
        return None
    found = [value for key_node, value in node.value if str(key_node.value) == key]
    return found[-1] if found else None


def line_of(node: yaml.Node | None, loc: Sequence[str]) -> int | None:
    """The 1-based line of the deepest node of ``loc`` under ``node`` (None without a node).

    A mapping is entered by key (the key's line), a sequence by index (the item's line); the
    walk stops at the first part of ``loc`` that is not there.
    """
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = [(k, v) for k, v in node.value if str(k.value) == part]
            if not match:
                break
            key_node, node = match[-1]
            line = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            line = node.start_mark.line + 1
        else:
            break
    return line


def is_union_tag(part: Any) -> bool:
    """pydantic puts a union member's tag in ``loc`` (``str``, ``list[...]``, ``function-...``).

    ``[key]`` (the key of a mapping, not a member's tag) is kept.
    """
    return isinstance(part, str) and (
        part in ("str", "int", "float", "bool", "none")
        or ("[" in part and not part.startswith("["))
        or part.startswith(("function-", "constrained-", "json-or-python"))
    )


def describe(
    exc: ValidationError,
    name: str,
    node: yaml.Node | None = None,
    *,
    line: int | None = None,
    prefix: str = "",
    top: str = "(top level)",
    unknown: Callable[[Sequence[str]], str] | None = None,
) -> str:
    """``name:line: <prefix><field>: problem`` for the first error of ``exc``.

    The line is that of the error's field under ``node`` (the YAML node that was validated),
    else ``line`` (JSON Lines: the entry's line), else none. ``top`` names the field of an error
    on the whole object; ``unknown(loc)`` replaces pydantic's text for a field that is not
    allowed (``extra_forbidden``).
    """
    error = exc.errors(include_url=False)[0]
    loc = [str(part) for part in error["loc"] if not is_union_tag(part)]
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden" and unknown is not None:
        message = unknown(loc)
    where = at(name, line_of(node, loc) or line)
    return f"{where}: {prefix}{'.'.join(loc) or top}: {message}"
