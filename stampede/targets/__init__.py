"""Targets the suite runs against; the interface is `stampede.targets.base.Target`.

``make_target(name, state_dir, weakness, options)`` builds the one named on the command line::

    local   the stack of processes on this machine        (local.py)
    kind    the reference agent on a local kind cluster   (kind.py)
    url     someone else's agent at --agent-url           (url.py)
"""

from __future__ import annotations

import shutil
from pathlib import Path

from stampede import kind
from stampede.errors import InputError
from stampede.targets._urls import checked_url
from stampede.targets.base import (
    Capabilities,
    FaultEndpoint,
    MetricsSource,
    Sample,
    Say,
    Target,
    TargetInfo,
    TargetOptions,
    TargetStatus,
)
from stampede.targets.kind import KindTarget
from stampede.targets.local import LocalTarget
from stampede.targets.url import UrlTarget

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
    "TargetOptions",
    "TargetStatus",
    "UrlTarget",
    "make_target",
]

TARGETS = ("local", "kind", "url")
#: The name of a url target's fault API (--fault-url) in heal lines and metrics.
URL_FAULT_API = "fault-api"


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


def _url_target(weakness: str | None, options: TargetOptions) -> UrlTarget:
    """The url target from ``--agent-url`` [``--metrics-url``] [``--fault-url --fault-token``]."""
    if weakness:
        raise InputError(
            f"--weakness {weakness}: weaknesses are the reference agent's (--target local or "
            "kind), not --target url's"
        )
    if not options.agent_url:
        raise InputError("--target url needs --agent-url URL (the agent to talk to)")
    if bool(options.fault_url) != bool(options.fault_token):
        given, missing = (
            ("--fault-url", "--fault-token")
            if options.fault_url
            else ("--fault-token", "--fault-url")
        )
        raise InputError(f"{given} needs {missing} too (the fault API's URL and bearer token)")
    faults = []
    if options.fault_url:
        url = checked_url(options.fault_url, "--fault-url", options.allow_remote)
        faults.append(FaultEndpoint(URL_FAULT_API, url, options.fault_token or ""))
    return UrlTarget(
        options.agent_url,
        metrics_url=options.metrics_url,
        fault_endpoints=faults,
        allow_remote=options.allow_remote,
    )


def make_target(
    name: str,
    state_dir: Path,
    weakness: str | None,
    options: TargetOptions | None = None,
) -> Target:
    """The target named on the command line, or an InputError saying why it cannot run here.

    ``options`` carries the url target's options (local and kind refuse them) and the local
    target's ``proxy``.
    """
    options = options or TargetOptions()
    if options.proxy is not None and name != "local":
        raise InputError(
            f"--proxy/--no-proxy: an option of --target local, not --target {name} "
            "(a url target's fault proxy is --fault-url)"
        )
    if name == "url":
        return _url_target(weakness, options)
    if name in ("local", "kind") and options.url_options_given():
        raise InputError(
            f"{', '.join(options.url_options_given())}: options of --target url, "
            f"not --target {name}"
        )
    if name == "local":
        return LocalTarget(state_dir, weakness, proxy=options.proxy)
    if name == "kind":
        return _kind_target(weakness)
    raise InputError(f"--target {name!r}: unknown target (known: {', '.join(TARGETS)})")
