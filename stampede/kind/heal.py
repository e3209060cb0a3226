"""Undo what an interrupted kind experiment may have left in the cluster: cordons, redis at 0.

Faults left on the toolbox are cleared by the target through the fault API
(``stampede.targets.kind.KindTarget.heal``), like on every target.
"""

from __future__ import annotations

import json

from stampede.errors import StampedeError
from stampede.kind.endpoints import Endpoints
from stampede.kind.layout import CORDON_ANNOTATION
from stampede.kind.tools import Say, kubectl, quiet


def _uncordon(found: Endpoints, done: list[str]) -> None:
    """Uncordon the nodes an experiment cordoned (its annotation says so); append to ``done``."""
    nodes = json.loads(kubectl(found.context, "get", "nodes", "--output", "json").stdout)
    for node in nodes.get("items", []):
        meta = node["metadata"]
        if CORDON_ANNOTATION in (meta.get("annotations") or {}):
            kubectl(found.context, "uncordon", meta["name"])
            kubectl(found.context, "annotate", "node", meta["name"], f"{CORDON_ANNOTATION}-")
            done.append(f"uncordoned node {meta['name']} left cordoned by an experiment")


def _scale_redis_back(found: Endpoints, done: list[str]) -> None:
    """Scale redis back to 1 replica if an experiment left it at 0; append to ``done``."""
    namespace = found.namespace
    replicas = kubectl(
        found.context,
        "--namespace",
        namespace,
        "get",
        "deployment/redis",
        "--output",
        "jsonpath={.spec.replicas}",
    ).stdout.strip()
    if replicas == "0":
        kubectl(
            found.context, "--namespace", namespace, "scale", "deployment/redis", "--replicas=1"
        )
        done.append("scaled redis back to 1 replica")


def heal_cluster(found: Endpoints, say: Say = quiet) -> list[str]:
    """Uncordon nodes and scale redis back if an experiment left them so; say what was done."""
    done: list[str] = []
    try:
        _uncordon(found, done)
        _scale_redis_back(found, done)
    except StampedeError as exc:
        done.append(f"could not check nodes or redis: {exc}")
    for line in done:
        say(line)
    return done
