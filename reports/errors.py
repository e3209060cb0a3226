"""The one error this package raises for bad input.

StampedeError                       (stampede.errors)
└── InputError
    └── ReportsError                a run directory or SLO file is malformed

The message is one line naming the file, the line (when known) and the problem, e.g.
``slo.yaml:7: objectives[2].op: '=<' is not one of <, <=, >, >=, ==, !=``. The CLI prints it
and exits 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stampede.errors import InputError


class ReportsError(InputError):
    """A run directory or SLO file is malformed; the message names file, line and problem."""


def where(path: Path | str, line: int | None = None) -> str:
    """``path:line`` (or ``path`` when the line is unknown), the prefix of every message."""
    return f"{path}:{line}" if line else f"{path}"


def obj(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one (optional nested fields)."""
    return value if isinstance(value, dict) else {}


def require_run_dir(path: Path) -> Path:
    """``path`` when it is a directory, else the one-line error every command gives."""
    if not path.is_dir():
        raise ReportsError(f"{path}: run directory not found")
    return path
