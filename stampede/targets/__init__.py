"""Targets the suite runs against; the interface is `stampede.targets.base.Target`.

``make_target(name, state_dir, weakness)`` builds the one named on the command line::

    local   the stack of processes on this machine        (local.py)
    kind    the reference agent on a local kind cluster   (kind.py)
"""

from __future__ import annotations

import shutil
from pathlib import Path

from stampede import kind
from stampede.errors import InputError
from stampede.targets.base import (
    Capabilities,
    FaultEndpoint,
    MetricsSource,
    Sample,
    Say,
    Target,
    TargetInfo,
    TargetStatus,
)
from stampede.targets.kind import KindTarget
from stampede.targets.local import LocalTarget

__all__ = [
    "TARGETS",
    "Capabilities",
    "FaultEndpoint",
    "KindTarget",
    "LocalTarget",
    "MetricsSource",
    "Sample",
    "Say",
    "Target",
    "TargetInfo",
    "TargetStatus",
    "make_target",
]

TARGETS = ("local", "kind")


def _kind_target(weakness: str | None) -> KindTarget:
    """The kind target, after checking kind, kubectl and a Docker engine are here."""
    missing = [tool for tool in ("kind", "kubectl", "docker") if shutil.which(tool) is None]
    problem = f"{', '.join(missing)} not on PATH" if missing else kind.docker_engine_problem()
    if problem:
        raise InputError(
            f"--target kind: not available here: needs kind + docker ({problem}; "
            "see docs/kubernetes.md)"
        )
    return KindTarget(weakness=weakness)


def make_target(name: str, state_dir: Path, weakness: str | None) -> Target:
    """The target named on the command line, or an InputError saying why it cannot run here."""
    if name == "local":
        return LocalTarget(state_dir, weakness)
    if name == "kind":
        return _kind_target(weakness)
    raise InputError(f"--target {name!r}: unknown target (known: {', '.join(TARGETS)})")
