"""Chaos Toolkit experiments and the project's Chaos Toolkit extension."""

from __future__ import annotations

from typing import Any

from experiments.activities import discover as discover_activities

__all__ = ["discover"]


def discover(discover_system: bool = True) -> dict[str, Any]:
    """Chaos Toolkit discovery of this distribution (see ``experiments.activities``).

    ``chaos --no-version-check discover --no-install stampede`` imports the first top-level
    package of the ``stampede`` distribution, which is this one.
    """
    return discover_activities(discover_system)
