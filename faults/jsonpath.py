"""A small JSON path: ``$``, then ``.key``, ``["key"]``, ``[0]`` (negative: from the end), ``[*]``."""

from __future__ import annotations

import json
import re

_STEP = re.compile(r"""\.([A-Za-z_][\w-]*)|\[(-?\d+)\]|\[\*\]|\["((?:[^"\\]|\\.)*)"\]""")

Step = str | int | None  # key, index, or None for every item


class PathError(ValueError):
    """A JSON path that does not parse."""


def parse_path(path: str) -> list[Step]:
    """``$.a[0]["b c"][*]`` -> ``["a", 0, "b c", None]``; raise ``PathError`` if malformed."""
    if not path.startswith("$"):
        raise PathError(f"JSON path {path!r} must start with $")
    steps: list[Step] = []
    at = 1
    while at < len(path):
        match = _STEP.match(path, at)
        if match is None:
            raise PathError(f"JSON path {path!r}: cannot read {path[at:]!r} at offset {at}")
        key, index, quoted = match.groups()
        if key is not None:
            steps.append(key)
        elif index is not None:
            steps.append(int(index))
        elif quoted is not None:
            try:
                steps.append(json.loads(f'"{quoted}"'))
            except ValueError as exc:
                raise PathError(f"JSON path {path!r}: bad escape in [{quoted!r}]") from exc
        else:
            steps.append(None)
        at = match.end()
    return steps
