"""YAML (and JSON) from outside, read bounded, so that every problem names its line.

Every loader of the harness reads its YAML and JSON here: the SLO file (``reports.slo``), case
files, declarative profiles, metric maps, the proxy config, the kind cluster config, and
run.json and the journals (``reports.load``, ``stampede.rundir``). The bounds, one set for all:

* size: :data:`MAX_CONFIG_CHARS` for a YAML document (a config a person wrote),
  :data:`MAX_JSON_CHARS` for a JSON document (run.json, a journal); :func:`read_text` reads at
  most its limit from a file;
* nesting: :data:`MAX_DEPTH` levels of mappings and sequences. YAML: counted on the parser's
  event stream *while* PyYAML composes (its composer recurses once per level, so 20,000 levels
  would end in ``RecursionError``; the count stops it at level 101). JSON: the C decoder checks
  the interpreter's recursion limit at every level, so a deeper document fails at ~1,000 levels
  in time linear in what it read, holding no more than that; its ``RecursionError`` is turned
  into the same message here, and :data:`MAX_DEPTH` is then checked on the decoded value
  (iteratively);
* aliases: a YAML alias repeats the node of its anchor, so a few hundred bytes of aliases of
  aliases expand to billions of nodes (the "billion laughs"); the expansion is counted on the
  event stream and refused past :data:`MAX_ALIAS_NODES` nodes, and an alias inside its own
  anchor (a cycle) is refused outright;
* errors: every problem, including a ``RecursionError``/``MemoryError`` of the parser or a
  ``ValueError`` of a value (``2001-02-30``, an integer of 5,000 digits), is the caller's
  InputError subclass, one line: ``name:line: not valid YAML: problem``.

The pydantic-checked YAML (case files, metric maps, declarative profiles) shares the helpers
that name the line of a field, so a problem reads the same in each:

* :func:`load_yaml`: ``(data, node)``, the document and the node tree it was built from (the
  nodes' marks give the lines); :func:`compose_yaml`: the node tree alone;
* :func:`load_json`: a JSON document (``line`` for JSON Lines); :func:`read_text`: a file;
* :func:`child`: the value node of a key in a mapping node;
* :func:`line_of`: the line of the deepest node a pydantic ``loc`` reaches;
* :func:`describe`: ``name:line: field: problem`` for the first error of a ValidationError
  (pydantic's ``Value error, `` prefix and union-member tags left out of it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from stampede.errors import InputError

if TYPE_CHECKING:  # only a type here: reading the SLO file need not import pydantic
    from pydantic import ValidationError

__all__ = [
    "MAX_ALIAS_NODES",
    "MAX_CONFIG_CHARS",
    "MAX_DEPTH",
    "MAX_JSON_CHARS",
    "at",
    "child",
    "compose_yaml",
    "describe",
    "is_union_tag",
    "line_of",
    "load_json",
    "load_yaml",
    "read_text",
]

#: Levels of mappings/sequences a YAML or JSON document may nest (k8s objects in a journal: ~20).
MAX_DEPTH = 100
#: Nodes that aliases may add to a YAML document when expanded, over the whole document.
MAX_ALIAS_NODES = 10_000
#: Characters of a YAML config (SLO file, profile, metric map, proxy or kind config): 1 Mi.
MAX_CONFIG_CHARS = 2**20
#: Characters of a JSON document the harness wrote (run.json, a journal): 64 Mi.
MAX_JSON_CHARS = 64 * 2**20


def at(name: str, line: int | None) -> str:
    """``name:line``, or ``name`` alone when the line is not known."""
    return f"{name}:{line}" if line else name


def _mib(chars: int) -> str:
    return f"{chars / 2**20:g} MiB" if chars >= 2**20 else f"{chars / 2**10:g} KiB"


def read_text(path: Path, error: type[InputError] = InputError, *, limit: int) -> str:
    """The UTF-8 text of ``path``, reading at most ``limit`` bytes; ``error`` naming the file.

    A larger file is refused before it is read into memory.
    """
    try:
        with path.open("rb") as handle:
            raw = handle.read(limit + 1)
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if len(raw) > limit:
        raise error(f"{path}: larger than the {_mib(limit)} limit of this file")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc


class _Bounded(yaml.SafeLoader):
    """PyYAML's safe loader, counting depth and alias expansion on every event it composes.

    The composer takes each event through :meth:`get_event` before it acts on it (and recurses
    for a collection), so a document that is too deep or expands too far stops here first.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.open: list[list[Any]] = []  # per open collection: [anchor, nodes so far]
        self.sizes: dict[str, int] = {}  # a closed anchor -> the nodes its alias expands to
        self.expanded = 0  # nodes added by aliases so far

    def get_event(self) -> Any:
        event = super().get_event()
        line = event.start_mark.line + 1 if event.start_mark is not None else None
        if isinstance(event, yaml.CollectionStartEvent):
            self.open.append([event.anchor, 1])
            if len(self.open) > MAX_DEPTH:
                raise _Refused(line, f"nested deeper than {MAX_DEPTH} levels")
        elif isinstance(event, yaml.CollectionEndEvent) and self.open:
            anchor, size = self.open.pop()
            self._close(anchor, size)
        elif isinstance(event, yaml.ScalarEvent):
            self._close(event.anchor, 1)
        elif isinstance(event, yaml.AliasEvent):
            self._alias(event.anchor, line)
        return event

    def _close(self, anchor: str | None, size: int) -> None:
        if anchor is not None:
            self.sizes[anchor] = size
        if self.open:
            self.open[-1][1] += size

    def _alias(self, anchor: str | None, line: int | None) -> None:
        if anchor is None:  # PyYAML gives every alias its anchor
            return
        if any(entry[0] == anchor for entry in self.open):
            raise _Refused(line, f"alias *{anchor} is inside its own anchor (a recursive alias)")
        size = self.sizes.get(anchor)
        if size is None:  # undefined: the composer says so
            return
        self.expanded += size
        if self.expanded > MAX_ALIAS_NODES:
            raise _Refused(
                line, f"aliases expand to more than {MAX_ALIAS_NODES} nodes (an alias bomb?)"
            )
        if self.open:
            self.open[-1][1] += size


class _Refused(Exception):
    """A bound of :class:`_Bounded` was crossed at ``line``."""

    def __init__(self, line: int | None, problem: str) -> None:
        super().__init__(problem)
        self.line = line
        self.problem = problem


def _limit(text: str, name: str, error: type[InputError], limit: int) -> None:
    if len(text) > limit:
        raise error(f"{name}: larger than the {_mib(limit)} limit of this file")


def _problem(exc: BaseException) -> tuple[int | None, str]:
    """(line, problem) of what the loader or a constructor raised."""
    if isinstance(exc, _Refused):
        return exc.line, exc.problem
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "syntax error"
        if exc.context:
            problem += f" ({exc.context})"
        return (mark.line + 1 if mark is not None else None), problem
    if isinstance(exc, RecursionError | MemoryError):  # not expected within the bounds
        return None, f"too deep or too large to load ({type(exc).__name__})"
    first = str(exc).strip().splitlines()
    return None, first[0] if first else type(exc).__name__


# What loading can raise for bad input: the bounds, PyYAML's errors, and what a constructor
# raises for a value it cannot build (datetime.date(2001, 2, 30), int() of 5,000 digits).
_LOAD_ERRORS = (_Refused, yaml.YAMLError, ValueError, OverflowError, RecursionError, MemoryError)


def compose_yaml(
    text: str,
    name: str,
    error: type[InputError] = InputError,
    *,
    limit: int = MAX_CONFIG_CHARS,
    invalid: str = "not valid YAML",
) -> yaml.Node | None:
    """The node tree of the one document in ``text`` (None when empty), within the bounds.

    ``error`` reads ``name:line: <invalid>: problem`` (line when known).
    """
    _limit(text, name, error, limit)
    loader: _Bounded | None = None
    try:
        loader = _Bounded(text)  # the reader refuses unprintable characters here already
        return loader.get_single_node()
    except _LOAD_ERRORS as exc:
        line, problem = _problem(exc)
        raise error(f"{at(name, line)}: {invalid}: {problem}") from exc
    finally:
        if loader is not None:
            loader.dispose()


def load_yaml(
    text: str,
    name: str,
    error: type[InputError] = InputError,
    *,
    limit: int = MAX_CONFIG_CHARS,
) -> tuple[Any, yaml.Node | None]:
    """The document in ``text`` and its node tree (None, None when empty); ``error`` if not YAML.

    The data is what ``yaml.safe_load`` gives, within the bounds of this module; the message of
    ``error`` names ``name``, the line of the problem (when YAML knows it) and the problem.
    """
    node = compose_yaml(text, name, error, limit=limit)
    if node is None:
        return None, None
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node), node
    except _LOAD_ERRORS as exc:
        line, problem = _problem(exc)
        raise error(f"{at(name, line)}: not valid YAML: {problem}") from exc
    finally:
        loader.dispose()


def load_json(
    text: str,
    name: str,
    error: type[InputError] = InputError,
    *,
    line: int | None = None,
    limit: int = MAX_JSON_CHARS,
    invalid: str = "not valid JSON",
) -> Any:
    """The JSON document in ``text``, within the bounds; ``error`` naming ``name`` and the line.

    ``line``: the document's line in its file (JSON Lines); else the decoder's line.
    """
    _limit(text, name, error, limit)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        where = at(name, line or exc.lineno)
        raise error(f"{where}: {invalid}: {exc.msg} (column {exc.colno})") from exc
    except (RecursionError, MemoryError) as exc:  # bounded: see the module docstring
        raise error(f"{at(name, line)}: {invalid}: nested deeper than {MAX_DEPTH} levels") from exc
    except ValueError as exc:  # int() of a number of more than 4,300 digits
        raise error(f"{at(name, line)}: {invalid}: {exc}") from exc
    if _depth_over(data, MAX_DEPTH):
        raise error(f"{at(name, line)}: {invalid}: nested deeper than {MAX_DEPTH} levels")
    return data


def read_json(
    path: Path, error: type[InputError] = InputError, *, limit: int = MAX_JSON_CHARS
) -> Any:
    """The JSON document in the file ``path``, bounded in size and depth; ``error`` naming it."""
    return load_json(read_text(path, error, limit=limit), str(path), error, limit=limit)


def _depth_over(data: Any, limit: int) -> bool:
    """Whether containers in ``data`` nest deeper than ``limit`` (iterative: no recursion)."""
    if not isinstance(data, dict | list):
        return False
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        children = value.values() if isinstance(value, dict) else value
        stack.extend((item, depth + 1) for item in children if isinstance(item, dict | list))
    return False


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
