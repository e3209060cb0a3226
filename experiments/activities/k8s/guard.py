"""The kube-context guard as a Chaos Toolkit control: no allow-listed context, no API call.

Every kind experiment declares it at the top level::

    "controls": [{"name": "kube-context-guard",
                  "provider": {"type": "python", "module": "experiments.activities.k8s.guard"}}]

Why a control and not a probe: chaoslib wraps whatever a Python *activity* raises, even
``InterruptExecution``, into ``ActivityFailed`` (``chaoslib/provider/python.py``), so a refusing
probe only fails itself; under ``rollbacks.strategy: always`` every rollback (chaosk8s
``scale_deployment`` and friends) would still run against the refused cluster, and with
``--hypothesis-strategy after-method-only`` the method would run before any probe. A control's
``InterruptExecution`` propagates instead: ``before_experiment_control`` stops the run before the
hypothesis, and ``before_activity_control`` — applied to every activity, rollbacks included —
makes ``run_rollback`` stop before the first rollback touches anything.

Pinning: once the context is vetted (``_client.check_context``: allow-list, and the experiment's
``kube_context`` if it names one), the guard writes a private kubeconfig holding only that
context, its cluster and its user, and points ``KUBECONFIG`` and ``KUBERNETES_CONTEXT`` at it for
the rest of the run. chaosk8s and our activities read both on every call, so a ``kubectl config
use-context`` (or an edited kubeconfig) mid-run cannot retarget the experiment; each activity is
re-checked against the pinned context before it runs. ``cleanup_control`` restores the
environment and removes the file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from chaoslib.exceptions import InterruptExecution
from kubernetes.config import kube_config

from experiments.activities.k8s import _client

# Kubeconfig fields holding file paths, which the Kubernetes client resolves relative to the
# kubeconfig's own directory: the pinned copy lives elsewhere, so they are made absolute.
_PATH_FIELDS = ("certificate-authority", "client-certificate", "client-key", "tokenFile")


class _Pin:
    """What the guard vetted for this run, and the environment it replaced."""

    def __init__(self) -> None:
        self.target: _client.KubeTarget | None = None
        self.file: str | None = None
        self.saved: dict[str, str | None] = {}
        self.default_location: str | None = None


_PIN = _Pin()


def _entry(items: Any, name: str, what: str, path: str) -> dict[str, Any]:
    """The kubeconfig list entry called ``name`` (contexts, clusters, users)."""
    for item in items or []:
        if isinstance(item, dict) and item.get("name") == name:
            return item
    raise InterruptExecution(f"kubeconfig {path}: no {what} named {name!r}")


def _absolute(section: dict[str, Any], base: Path) -> dict[str, Any]:
    """A copy of a cluster/user section with its relative file paths made absolute."""
    out = dict(section)
    for key in _PATH_FIELDS:
        value = out.get(key)
        if isinstance(value, str) and value and not os.path.isabs(value):
            out[key] = str(base / value)
    return out


def _pinned_kubeconfig(target: _client.KubeTarget) -> str:
    """Write a kubeconfig holding only ``target``'s context, cluster and user; return its path."""
    assert target.kubeconfig is not None
    path = target.kubeconfig
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    context = _entry(data.get("contexts"), target.context, "context", path)
    spec = context.get("context") or {}
    base = Path(path).resolve().parent
    cluster = _entry(data.get("clusters"), str(spec.get("cluster")), "cluster", path)
    pinned: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": target.context,
        "contexts": [context],
        "clusters": [{**cluster, "cluster": _absolute(cluster.get("cluster") or {}, base)}],
        "users": [],
        "preferences": {},
    }
    if spec.get("user"):
        user = _entry(data.get("users"), str(spec["user"]), "user", path)
        pinned["users"] = [{**user, "user": _absolute(user.get("user") or {}, base)}]
    fd, name = tempfile.mkstemp(prefix="stampede-kubeconfig-", suffix=".yaml")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:  # mkstemp: mode 0600
        yaml.safe_dump(pinned, handle)
    return name


def _setenv(key: str, value: str) -> None:
    """Set an environment variable, remembering the value it replaced (once)."""
    _PIN.saved.setdefault(key, os.environ.get(key))
    os.environ[key] = value


def pinned_context() -> str | None:
    """The context this run is pinned to (None before the guard vetted one)."""
    return _PIN.target.context if _PIN.target else None


def configure_control(**_: Any) -> None:
    """Start from a clean pin (chaoslib calls this once per run, before anything else)."""
    cleanup_control()


def before_experiment_control(
    context: Any, configuration: dict[str, Any] | None = None, secrets: Any = None, **_: Any
) -> None:
    """Vet the kube context and pin it; raise InterruptExecution (no API call) if refused."""
    cleanup_control()
    target = _client.check_context("", configuration, secrets)
    if target.kubeconfig is not None:
        _PIN.file = _pinned_kubeconfig(target)
        _setenv("KUBECONFIG", _PIN.file)
        _setenv(_client.CONTEXT_KEY, target.context)
        # chaosk8s checks $KUBECONFIG at call time but loads `kube_config.load_kube_config()`'s
        # default, which the kubernetes client read from $KUBECONFIG once, at import: pin both.
        _PIN.default_location = kube_config.KUBE_CONFIG_DEFAULT_LOCATION
        kube_config.KUBE_CONFIG_DEFAULT_LOCATION = _PIN.file
    elif target.context.startswith("host:"):
        _setenv("KUBERNETES_HOST", target.context.removeprefix("host:"))
    _PIN.target = target


def _recheck(configuration: dict[str, Any] | None, secrets: Any, what: str) -> None:
    """Refuse unless the run was vetted and still resolves to the pinned context."""
    if _PIN.target is None:
        raise InterruptExecution(
            f"kube-context guard: {what} before the experiment's context was vetted "
            "(declare the guard as a top-level control of the experiment)"
        )
    now = _client.check_context("", configuration, secrets)
    if now.context != _PIN.target.context:
        raise InterruptExecution(
            f"kube-context guard: {what} would use context {now.context!r} ({now.source}), "
            f"but this run is pinned to {_PIN.target.context!r}"
        )


def before_rollback_control(
    context: Any, configuration: dict[str, Any] | None = None, secrets: Any = None, **_: Any
) -> None:
    """Refuse the rollbacks of a run whose context was refused or has moved."""
    _recheck(configuration, secrets, "rollbacks")


def before_activity_control(
    context: Any, configuration: dict[str, Any] | None = None, secrets: Any = None, **_: Any
) -> None:
    """Refuse any activity (rollbacks included) unless the run is on the pinned context."""
    name = context.get("name") if isinstance(context, dict) else None
    _recheck(configuration, secrets, f"activity {name!r}")


def cleanup_control() -> None:
    """Restore the environment the guard changed and remove the pinned kubeconfig."""
    for key, value in _PIN.saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    if _PIN.default_location is not None:
        kube_config.KUBE_CONFIG_DEFAULT_LOCATION = _PIN.default_location
    if _PIN.file:
        Path(_PIN.file).unlink(missing_ok=True)
    _PIN.target, _PIN.file, _PIN.saved, _PIN.default_location = None, None, {}, None
