"""The project's Chaos Toolkit extension: ``<target>/actions.py`` and ``<target>/probes.py``.

Targets are the sub-packages (``process``, ``redis``, ``toolbox``, ``slo``, ``k8s``). Discovery
walks them, so a new target or module needs no registration here:
``chaos --no-version-check discover --no-install --no-system-info stampede`` imports the
distribution's first top-level package, ``experiments``, whose ``discover`` is this one.
"""

from __future__ import annotations

import importlib.metadata
import pkgutil
from pathlib import Path
from typing import Any

__all__ = ["activity_modules", "discover"]

#: Module name -> activity type, as Chaos Toolkit extensions lay them out.
KINDS = {"actions": "action", "probes": "probe"}


def activity_modules() -> list[tuple[str, str]]:
    """``(dotted module, "action" | "probe")`` for every target's actions/probes module."""
    here = Path(__file__).parent
    found = []
    for target in sorted(pkgutil.iter_modules([str(here)]), key=lambda m: m.name):
        if not target.ispkg or target.name.startswith("_"):
            continue
        modules = {m.name for m in pkgutil.iter_modules([str(here / target.name)])}
        for module, kind in KINDS.items():
            if module in modules:
                found.append((f"{__name__}.{target.name}.{module}", kind))
    return found


def discover(discover_system: bool = True) -> dict[str, Any]:
    """Chaos Toolkit's discovery entry point: every exported activity of every target."""
    from chaoslib.discovery import initialize_discovery_result
    from chaoslib.discovery.discover import discover_activities

    try:
        version = importlib.metadata.version("stampede")
    except importlib.metadata.PackageNotFoundError:
        version = "0+unknown"
    result: dict[str, Any] = initialize_discovery_result("stampede", version, "stampede")
    for module, kind in activity_modules():
        result["activities"].extend(discover_activities(module, kind))
    return result
