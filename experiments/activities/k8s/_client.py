"""The kube-context guard, and the one place the k8s activities build a Kubernetes API client.

An experiment can touch whatever cluster the kubeconfig points at, so before anything talks to
the API the guard answers "which cluster would this be?" and refuses contexts that are not
allow-listed (default ``kind-*``). It resolves the context exactly as chaosk8s does, so it vets
the cluster that chaosk8s's own activities (pod kill, scale, rollout) are about to use:

    1. a kubeconfig file exists (``$KUBECONFIG`` or ``~/.kube/config``): the context named by
       ``KUBERNETES_CONTEXT`` (activity secrets, then the environment), else its current-context;
    2. else, in a pod with ``CHAOSTOOLKIT_IN_POD=true``: the in-cluster service account, named
       ``in-cluster`` here;
    3. else ``KUBERNETES_HOST``: named ``host:<url>``.

Allow-list, first found: the guard's ``allowed`` argument, the experiment's configuration key
``kube_context_allowlist``, ``$STAMPEDE_KUBE_CONTEXTS``, else ``kind-*``. Comma-separated
shell-style patterns. When the experiment's configuration names ``kube_context``, the resolved
context must also be that one: a suite aimed at ``kind-stampede`` never runs against another kind
cluster that happens to be current.

A refusal raises ``InterruptExecution``. Raised from a *control* (``guard.py``, which every
kind experiment declares) it stops the run and the rollbacks; raised from an activity, chaoslib
turns it into ``ActivityFailed`` and only that activity fails — which is why the guard is a
control and these checks inside activities are a second line only.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from typing import Any

from chaoslib.exceptions import InterruptExecution

ALLOWLIST_ENV = "STAMPEDE_KUBE_CONTEXTS"
DEFAULT_ALLOWLIST = "kind-*"
IN_CLUSTER = "in-cluster"
CONTEXT_KEY = "KUBERNETES_CONTEXT"
# Every API call of the activities is bounded: a hung API server must not hang an experiment.
REQUEST_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class KubeTarget:
    """The cluster an activity would talk to: context name, where the name came from, file."""

    context: str
    source: str
    kubeconfig: str | None = None


def _lookup(key: str, secrets: dict[str, Any] | None) -> str | None:
    """chaosk8s's lookup order: the activity's secrets, then the environment."""
    value = (secrets or {}).get(key, os.environ.get(key))
    return str(value) if value else None


def _kubeconfig_path() -> str:
    """The kubeconfig chaosk8s would read (it does not split a ``KUBECONFIG`` list)."""
    return os.path.expanduser(os.environ.get("KUBECONFIG", "~/.kube/config"))


def _contexts(path: str) -> tuple[list[str], str | None]:
    """Context names and current-context of a kubeconfig file (no API call)."""
    import yaml

    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InterruptExecution(f"cannot read kubeconfig {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise InterruptExecution(f"kubeconfig {path} is not a mapping")
    names = [
        str(entry.get("name"))
        for entry in data.get("contexts") or []
        if isinstance(entry, dict) and entry.get("name")
    ]
    current = data.get("current-context") or None
    return names, str(current) if current else None


def resolve_context(secrets: dict[str, Any] | None = None) -> KubeTarget:
    """The context chaosk8s would use right now; raises InterruptExecution when there is none."""
    path = _kubeconfig_path()
    if os.path.exists(path):
        names, current = _contexts(path)
        wanted = _lookup(CONTEXT_KEY, secrets)
        if wanted:
            if wanted not in names:
                raise InterruptExecution(
                    f"kube context {wanted!r} ({CONTEXT_KEY}) is not in kubeconfig {path} "
                    f"(it has: {', '.join(names) or 'no contexts'})"
                )
            return KubeTarget(wanted, CONTEXT_KEY, path)
        if not current:
            raise InterruptExecution(
                f"kubeconfig {path} has no current-context and {CONTEXT_KEY} is not set: "
                "refusing to guess which cluster to touch"
            )
        return KubeTarget(current, f"current-context of {path}", path)
    if os.environ.get("CHAOSTOOLKIT_IN_POD") == "true":
        return KubeTarget(IN_CLUSTER, "CHAOSTOOLKIT_IN_POD=true, no kubeconfig")
    host = _lookup("KUBERNETES_HOST", secrets) or "http://localhost"
    return KubeTarget(f"host:{host}", f"KUBERNETES_HOST, no kubeconfig at {path}")


def allowlist(allowed: str = "", configuration: dict[str, Any] | None = None) -> list[str]:
    """The allow-listed context patterns, from the first source that sets any."""
    raw = (
        allowed
        or str((configuration or {}).get("kube_context_allowlist") or "")
        or os.environ.get(ALLOWLIST_ENV, "")
        or DEFAULT_ALLOWLIST
    )
    return [pattern.strip() for pattern in raw.split(",") if pattern.strip()]


def check_context(
    allowed: str = "",
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> KubeTarget:
    """The resolved kube context when allowed; raises InterruptExecution (no API call) if not."""
    target = resolve_context(secrets)
    expected = str((configuration or {}).get("kube_context") or "")
    if expected and expected != target.context:
        raise InterruptExecution(
            f"kube context mismatch: the experiment expects {expected!r} "
            f"(configuration.kube_context) but activities would use {target.context!r} "
            f"({target.source}); set {CONTEXT_KEY}={expected} or switch contexts"
        )
    patterns = allowlist(allowed, configuration)
    if not any(fnmatch.fnmatchcase(target.context, pattern) for pattern in patterns):
        raise InterruptExecution(
            f"refusing kube context {target.context!r} ({target.source}): it is not in the "
            f"allow-list {patterns}; expected a context matching one of them (set "
            f"{ALLOWLIST_ENV} or the experiment's configuration.kube_context_allowlist)"
        )
    return target


def api_client(
    configuration: dict[str, Any] | None = None, secrets: dict[str, Any] | None = None
) -> Any:
    """A Kubernetes ApiClient for the allowed context; raises InterruptExecution if refused.

    Each call builds its own client configuration: the process-wide default that chaosk8s
    mutates is left alone.
    """
    target = check_context("", configuration, secrets)
    from kubernetes import client, config

    if target.kubeconfig is not None:
        return config.new_client_from_config(config_file=target.kubeconfig, context=target.context)
    if target.context == IN_CLUSTER:
        cfg = client.Configuration()
        config.load_incluster_config(client_configuration=cfg)
        return client.ApiClient(cfg)
    from chaosk8s import create_k8s_api_client

    return create_k8s_api_client(secrets)
