"""Deploy onto the kind cluster: build and load the image, apply the overlay, wait, weakness.

The steps of ``deploy``, in order::

    deploy   docker build (agent, harness) -> kind load -> Secrets -> kubectl apply -k
             -> rollouts (metrics-server, the postgres StatefulSet, the Deployments)
             -> annotate the agent Deployment with the source digest (stampede.kind.image)
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from stampede.errors import HarnessError
from stampede.kind.cluster import kube_context, require_cluster
from stampede.kind.endpoints import Endpoints, endpoints
from stampede.kind.image import build_images, load_image, mark_deployed, source_digest
from stampede.kind.layout import (
    AGENT,
    CLUSTER_NAME,
    DEPLOYMENTS,
    GENERATED_SECRETS,
    IMAGES,
    KIND_OVERLAY,
    METRICS_SERVER,
    NAMESPACE,
    REPO_ROOT,
    ROLLOUT_TIMEOUT_S,
    STATEFULSETS,
)
from stampede.kind.secret import ensure_namespace, ensure_secret
from stampede.kind.tools import Say, kubectl, quiet, require, require_docker_engine, tail


def deployment_names(context: str, namespace: str = NAMESPACE) -> set[str]:
    """Names of the Deployments in ``namespace`` (empty when the namespace does not exist)."""
    proc = kubectl(
        context,
        "--namespace",
        namespace,
        "get",
        "deployments",
        "--output",
        "jsonpath={.items[*].metadata.name}",
        check=False,
    )
    return set(proc.stdout.split()) if proc.returncode == 0 else set()


def wait_for_rollouts(
    context: str,
    namespace: str = NAMESPACE,
    names: Iterable[str] = DEPLOYMENTS,
    timeout_s: float = ROLLOUT_TIMEOUT_S,
    resource: str = "deployment",
) -> None:
    """``kubectl rollout status`` for each ``resource`` (deployment, statefulset) in ``names``.

    Raises HarnessError naming the first one that is stuck.
    """
    for workload in names:
        proc = kubectl(
            context,
            "--namespace",
            namespace,
            "rollout",
            "status",
            f"{resource}/{workload}",
            f"--timeout={int(timeout_s)}s",
            timeout_s=timeout_s + 30,
            check=False,
        )
        if proc.returncode != 0:
            raise HarnessError(
                f"{resource} {namespace}/{workload} did not roll out within {timeout_s:g} s "
                f"({tail(proc.stderr) or tail(proc.stdout) or 'no output'}); look at "
                f"`kubectl --context {context} -n {namespace} describe {resource}/{workload}`"
            )


def deploy(
    name: str = CLUSTER_NAME,
    *,
    build: bool = True,
    overlay: Path = KIND_OVERLAY,
    timeout_s: float = ROLLOUT_TIMEOUT_S,
    say: Say = quiet,
) -> Endpoints:
    """Build and load the image, apply the kind overlay, wait until everything is rolled out."""
    for tool in ("kind", "kubectl", "docker"):
        require(tool)
    require_docker_engine()
    require_cluster(name)
    context = kube_context(name)
    digest = source_digest()
    if build:
        build_images(digest, say=say)
    for tag in IMAGES:
        say(f"loading image {tag} into kind cluster {name!r}")
        load_image(tag, name, say=say)
    existed = deployment_names(context)
    ensure_namespace(context)
    for secret, key in GENERATED_SECRETS:
        ensure_secret(context, secret, key)
    shown = overlay.relative_to(REPO_ROOT) if overlay.is_relative_to(REPO_ROOT) else overlay
    say(f"applying {shown}")
    kubectl(context, "apply", "--kustomize", str(overlay), timeout_s=120)
    # The image tag stays `dev`: pods that already ran must be recreated to pick up a new build.
    restart = sorted(existed & {AGENT, "toolbox"}) if build else []
    for deployment in restart:
        kubectl(context, "--namespace", NAMESPACE, "rollout", "restart", f"deployment/{deployment}")
    if restart:
        say(f"restarted {', '.join(restart)} to run the new image")
    say("waiting for metrics-server, postgres and the stampede deployments to roll out")
    wait_for_rollouts(context, METRICS_SERVER[0], [METRICS_SERVER[1]], timeout_s)
    wait_for_rollouts(context, NAMESPACE, STATEFULSETS, timeout_s, "statefulset")
    wait_for_rollouts(context, NAMESPACE, DEPLOYMENTS, timeout_s)
    if build:
        mark_deployed(context, digest)
    found = endpoints(name)
    say(f"agent at {found.agent_url}, toolbox at {found.toolbox_url}")
    return found


def agent_weakness(context: str, namespace: str = NAMESPACE) -> str | None:
    """The AGENT_WEAKNESS the agent Deployment runs with (None for the real agent)."""
    proc = kubectl(
        context, "--namespace", namespace, "get", f"deployment/{AGENT}", "--output", "json"
    )
    spec = json.loads(proc.stdout)["spec"]["template"]["spec"]["containers"][0]
    for var in spec.get("env") or []:
        if var.get("name") == "AGENT_WEAKNESS":
            return str(var.get("value") or "") or None
    return None


def set_agent_weakness(
    context: str, weakness: str | None, namespace: str = NAMESPACE, say: Say = quiet
) -> None:
    """Run the agent with ``weakness`` (None: the real agent) and wait for the rollout."""
    say(f"agent: setting AGENT_WEAKNESS={weakness or ''} (rolling the agent pods)")
    kubectl(
        context,
        "--namespace",
        namespace,
        "set",
        "env",
        f"deployment/{AGENT}",
        f"AGENT_WEAKNESS={weakness or ''}",
    )
    wait_for_rollouts(context, namespace, [AGENT])
