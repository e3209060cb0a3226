"""Run a Deployment's container with `docker run` exactly as its manifest runs it, on loopback.

What is taken FROM the rendered manifest (nothing is duplicated here): the image, the command
and args, the user/group (``runAsUser``/``runAsGroup``/``fsGroup``), ``readOnlyRootFilesystem``,
dropped/added capabilities, ``allowPrivilegeEscalation: false``, every ``emptyDir`` mount (as a
tmpfs with its ``sizeLimit``, group-owned by ``fsGroup`` like the kubelet's), the memory limit,
and the environment (``envFrom`` ConfigMaps, literal values, ``fieldRef: metadata.name``,
``secretKeyRef`` from the given secrets).

What has to change because there is no cluster: the network is the host's (``--network host``,
never a container network), so the ``--port`` argument becomes a free loopback port and every
``//<service>:<port>`` in an env value is rewritten to the loopback address the test gives for
it; an unmapped Service reference fails. No preStop hook runs (that is the kubelet's).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.k8s import support

# `//service:port` or, after credentials, `@service:port` (a DSN: postgresql://user:pw@host:5432).
SERVICE_REF = re.compile(r"(//|@)([a-z0-9][a-z0-9-]*(?:\.[a-z0-9.-]+)?):(\d+)(?=/|$)")
DEPENDENT = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
_QUANTITY = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "K": 1000, "M": 1000**2, "G": 1000**3}


@dataclass
class PodRun:
    """The docker run arguments for one container of a Deployment, and what they came from."""

    deployment: str
    image: str
    args: list[str]
    command: list[str]
    env: dict[str, str]
    grace_s: int
    mounts: list[str] = field(default_factory=list)


def _bytes(quantity: str) -> int:
    """A Kubernetes quantity (``64Mi``) in bytes."""
    for suffix, factor in _QUANTITY.items():
        if quantity.endswith(suffix):
            return int(float(quantity.removesuffix(suffix)) * factor)
    return int(quantity)


def _env(
    objects: list[dict[str, Any]],
    container: dict[str, Any],
    pod_name: str,
    secrets: Mapping[tuple[str, str], str],
) -> dict[str, str]:
    """The container's environment as the kubelet would build it."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        ref = source.get("configMapRef")
        assert ref, f"unsupported envFrom {source}"
        env.update(support.one(objects, "ConfigMap", ref["name"]).get("data", {}))
    for item in container.get("env", []):
        if "value" in item:
            # The kubelet expands $(VAR) of variables defined before this one; others stay.
            env[item["name"]] = DEPENDENT.sub(lambda m: env.get(m[1], m[0]), str(item["value"]))
            continue
        value_from = item["valueFrom"]
        if "fieldRef" in value_from:
            assert value_from["fieldRef"]["fieldPath"] == "metadata.name", item
            env[item["name"]] = pod_name
        else:
            ref = value_from["secretKeyRef"]
            env[item["name"]] = secrets[(ref["name"], ref["key"])]
    return env


def _loopback(env: dict[str, str], endpoints: Mapping[str, str]) -> dict[str, str]:
    """Rewrite ``//service:port`` to the loopback address in ``endpoints`` (all must be mapped)."""
    out: dict[str, str] = {}
    for name, value in env.items():
        for _, host, port in SERVICE_REF.findall(value):
            assert f"{host}:{port}" in endpoints, f"{name}={value}: {host}:{port} is not mapped"
        out[name] = SERVICE_REF.sub(lambda m: m[1] + endpoints[f"{m[2]}:{m[3]}"], value)
    return out


def _command(container: dict[str, Any], port: int | None) -> list[str]:
    """Command + args with the ``--port`` value replaced by the loopback port (if it serves)."""
    command = [*container.get("command", []), *container.get("args", [])]
    if port is None:
        assert not container.get("ports"), "a serving container needs a loopback port"
        return command
    declared = str(container["ports"][0]["containerPort"])
    at = command.index("--port")
    assert command[at + 1] == declared, f"--port {command[at + 1]} != containerPort {declared}"
    command[at + 1] = str(port)
    return command


def _security(pod: dict[str, Any], container: dict[str, Any]) -> list[str]:
    """docker run flags for the pod's and the container's securityContext."""
    psc, csc = pod.get("securityContext", {}), container.get("securityContext", {})
    user, group = (
        csc.get("runAsUser", psc.get("runAsUser")),
        csc.get("runAsGroup", psc.get("runAsGroup")),
    )
    assert user is not None and group is not None, "manifest must set runAsUser/runAsGroup"
    args = ["--user", f"{user}:{group}"]
    if psc.get("fsGroup") is not None:
        args += ["--group-add", str(psc["fsGroup"])]
    if csc.get("readOnlyRootFilesystem"):
        args.append("--read-only")
    caps = csc.get("capabilities", {})
    args += [f"--cap-drop={cap}" for cap in caps.get("drop", [])]
    args += [f"--cap-add={cap}" for cap in caps.get("add", [])]
    if csc.get("allowPrivilegeEscalation") is False:
        args += ["--security-opt", "no-new-privileges"]
    return args


def _mounts(pod: dict[str, Any], container: dict[str, Any]) -> list[str]:
    """``--tmpfs`` flags for the container's emptyDir mounts (other volume kinds fail)."""
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    gid = pod.get("securityContext", {}).get("fsGroup", 0)
    args: list[str] = []
    for mount in container.get("volumeMounts", []):
        volume = volumes[mount["name"]]
        assert "emptyDir" in volume, f"volume {mount['name']}: only emptyDir can run here"
        options = f"rw,nosuid,nodev,mode=2777,gid={gid}"
        if volume["emptyDir"] and volume["emptyDir"].get("sizeLimit"):
            options += f",size={_bytes(volume['emptyDir']['sizeLimit'])}"
        args += ["--tmpfs", f"{mount['mountPath']}:{options}"]
    return args


def pod_run(
    objects: list[dict[str, Any]],
    deployment: str,
    *,
    port: int | None,
    endpoints: Mapping[str, str],
    secrets: Mapping[tuple[str, str], str] = {},
    pod_name: str = "",
    kind: str = "Deployment",
) -> PodRun:
    """The `docker run` arguments (without ``run``/``--name``) for ``deployment``'s container."""
    obj = support.one(objects, kind, deployment)
    pod = obj["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = _loopback(_env(objects, container, pod_name or f"{deployment}-0", secrets), endpoints)
    mounts = _mounts(pod, container)
    args = ["--network", "host", *_security(pod, container), *mounts]
    workdir = container.get("workingDir")
    mounted = {m["mountPath"] for m in container.get("volumeMounts", [])}
    if workdir and workdir not in mounted:
        # Docker re-creates a --workdir that is a tmpfs mount point as 0755 root (the kubelet
        # keeps the emptyDir writable): there, the container starts in / instead.
        args += ["--workdir", workdir]
    limit = container.get("resources", {}).get("limits", {}).get("memory")
    if limit:
        args += ["--memory", str(_bytes(limit))]
    for name, value in sorted(env.items()):
        args += ["--env", f"{name}={value}"]
    command = _command(container, port)
    grace = int(pod.get("terminationGracePeriodSeconds", 30))
    return PodRun(deployment, container["image"], args, command, env, grace, mounts)
