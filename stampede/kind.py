"""The kind target: create the cluster, build and load the image, deploy, tear down, report.

Every external command goes through ``run`` (one place for timeouts, missing tools and error
text). A missing ``kind``/``docker``/``kubectl`` is an ``InputError`` that says what to install;
a command that fails or hangs is a ``HarnessError`` that names it; the CLI prints either as one
line and exits 2. kubectl is always given ``--context kind-<name>``: nothing here depends on, or
changes, the user's current context.

What a suite runner needs to target kind (``stampede suite --target kind``):

* ``endpoints(name)``: agent base URL on the host (``http://127.0.0.1:18000``), toolbox URL and
  admin token, kube context and namespace;
* ``chaos_env(endpoints)``: the environment ``experiments/kind/*.json`` read;
* ``ReplicaSampler``: rows ``(metric, label, value)`` for samples.csv, metric ``replicas``:
  label ``<deployment>`` = its ready replicas, label ``hpa/<name>`` = the HPA's desired replicas;
* ``suite_target(weakness)``: all of the above behind the suite's ``Target`` interface.

    up       kind create cluster (k8s/kind-cluster.yaml), unless it exists
    deploy   docker build -> kind load docker-image -> Secret -> kubectl apply -k -> rollouts
    down     kind delete cluster
    status   nodes, deployments, HPA, URLs
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from stampede.errors import HarnessError, InputError, StampedeError

REPO_ROOT = Path(__file__).resolve().parent.parent
KIND_CONFIG = REPO_ROOT / "k8s" / "kind-cluster.yaml"
KIND_OVERLAY = REPO_ROOT / "k8s" / "overlays" / "kind"

CLUSTER_NAME = "stampede"
NAMESPACE = "stampede"
IMAGE = "stampede:dev"  # what `kind load docker-image` loads; the kind overlay's image
AGENT_NODE_PORT = 30800
TOOLBOX_NODE_PORT = 30810
TOOLBOX_SECRET = "toolbox-admin"
TOOLBOX_SECRET_KEY = "token"
AGENT = "agent"
DEPLOYMENTS = ("redis", "toolbox", "prometheus", AGENT)  # waited for, in this order
METRICS_SERVER = ("kube-system", "metrics-server")
# Nodes cordoned by experiments/activities/k8s carry this annotation (see heal()).
CORDON_ANNOTATION = "stampede.dev/cordoned-by"

INSTALL_HINTS = {
    "kind": "install kind: https://kind.sigs.k8s.io/docs/user/quick-start/#installation",
    "docker": "install Docker (Engine or Desktop): https://docs.docker.com/get-docker/",
    "kubectl": "install kubectl: https://kubernetes.io/docs/tasks/tools/",
}

# Bounded waits (seconds).
CREATE_TIMEOUT_S = 600
BUILD_TIMEOUT_S = 1800
LOAD_TIMEOUT_S = 600
ROLLOUT_TIMEOUT_S = 300
KUBECTL_TIMEOUT_S = 60

Say = Callable[[str], None]


def _quiet(_: str) -> None:
    """Default ``say``: library calls print nothing unless the caller asks."""


# --------------------------------------------------------------------------------------------
# The one shell-out helper


def require(tool: str) -> str:
    """The path of ``tool`` on PATH; raises InputError saying what to install when missing."""
    found = shutil.which(tool)
    if not found:
        hint = INSTALL_HINTS.get(tool, f"install {tool}")
        raise InputError(f"`{tool}` not found on PATH: {hint}")
    return found


def run(
    cmd: Sequence[str],
    *,
    timeout_s: float = KUBECTL_TIMEOUT_S,
    stdin: str | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` (text in and out, bounded); raises HarnessError if it fails or hangs."""
    argv = [require(cmd[0]), *cmd[1:]]
    shown = " ".join(cmd)
    try:
        proc = subprocess.run(
            argv,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise HarnessError(f"`{shown}` did not finish within {timeout_s:g} s") from exc
    except OSError as exc:
        raise HarnessError(f"`{shown}` could not start: {exc}") from exc
    if check and proc.returncode != 0:
        detail = _tail(proc.stderr) or _tail(proc.stdout) or "no output"
        raise HarnessError(f"`{shown}` failed (exit {proc.returncode}): {detail}")
    return proc


def _tail(text: str, lines: int = 3) -> str:
    kept = [line.strip() for line in (text or "").strip().splitlines() if line.strip()]
    return " | ".join(kept[-lines:])


def kubectl(
    context: str,
    *args: str,
    timeout_s: float = KUBECTL_TIMEOUT_S,
    stdin: str | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """``kubectl --context <context> ...``: always explicit, never the current context."""
    if not context.startswith("kind-"):
        raise InputError(f"stampede.kind only drives kind contexts (kind-*), got {context!r}")
    return run(
        ["kubectl", "--context", context, *args], timeout_s=timeout_s, stdin=stdin, check=check
    )


# --------------------------------------------------------------------------------------------
# Configuration read from the repository


def kube_context(name: str = CLUSTER_NAME) -> str:
    """The kube context kind creates for cluster ``name``."""
    return f"kind-{name}"


def load_kind_config(path: Path = KIND_CONFIG) -> dict[str, Any]:
    """The kind cluster config; InputError naming the file when it is missing or malformed."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read the kind cluster config: {exc}") from exc
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or data.get("kind") != "Cluster":
        raise InputError(f"{path}: not a kind Cluster config (kind: Cluster)")
    return data


def host_port(node_port: int, config: dict[str, Any] | None = None) -> int:
    """The 127.0.0.1 host port that kind maps to ``node_port``; InputError when unmapped."""
    data = config if config is not None else load_kind_config()
    for node in data.get("nodes") or []:
        for mapping in node.get("extraPortMappings") or []:
            if int(mapping.get("containerPort", -1)) == node_port:
                return int(mapping["hostPort"])
    raise InputError(f"{KIND_CONFIG}: no extraPortMappings entry for nodePort {node_port}")


# --------------------------------------------------------------------------------------------
# Tools and cluster lifecycle


def docker_engine_problem() -> str | None:
    """None when a Docker engine answers ``docker info``, else why not (for skips and errors)."""
    if shutil.which("docker") is None:
        return f"`docker` not found on PATH: {INSTALL_HINTS['docker']}"
    try:
        proc = run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout_s=20, check=False)
    except HarnessError as exc:
        return str(exc)
    if proc.returncode != 0:
        why = _tail(proc.stderr, 1) or "docker info failed"
        return f"the Docker engine is not running ({why}): start Docker and retry"
    return None


def require_docker_engine() -> None:
    """Raise HarnessError when docker is installed but no engine answers (InputError if absent)."""
    require("docker")
    problem = docker_engine_problem()
    if problem:
        raise HarnessError(problem)


def cluster_exists(name: str = CLUSTER_NAME) -> bool:
    """Whether kind knows a cluster called ``name``."""
    out = run(["kind", "get", "clusters"], timeout_s=60).stdout
    return name in {line.strip() for line in out.splitlines()}


def require_cluster(name: str = CLUSTER_NAME) -> None:
    """InputError telling the user to run `stampede kind up` when the cluster is missing."""
    if not cluster_exists(name):
        raise InputError(f"no kind cluster named {name!r}: run `stampede kind up` first")


def up(name: str = CLUSTER_NAME, config: Path = KIND_CONFIG, say: Say = _quiet) -> bool:
    """Create the kind cluster unless it exists; True when it was created now."""
    for tool in ("kind", "kubectl"):
        require(tool)
    require_docker_engine()
    load_kind_config(config)  # a malformed file is the user's to fix: say so before kind does
    if cluster_exists(name):
        say(f"kind cluster {name!r} already exists (context {kube_context(name)})")
        return False
    say(f"creating kind cluster {name!r} from {config} (a few minutes the first time)")
    run(
        ["kind", "create", "cluster", "--name", name, "--config", str(config), "--wait", "300s"],
        timeout_s=CREATE_TIMEOUT_S,
    )
    say(f"kind cluster {name!r} is up (context {kube_context(name)})")
    return True


def down(name: str = CLUSTER_NAME, say: Say = _quiet) -> bool:
    """Delete the kind cluster; True when there was one to delete."""
    require("kind")
    if not cluster_exists(name):
        say(f"no kind cluster named {name!r}: nothing to delete")
        return False
    run(["kind", "delete", "cluster", "--name", name], timeout_s=300)
    say(f"kind cluster {name!r} deleted")
    return True


def build_image(tag: str = IMAGE, root: Path = REPO_ROOT) -> None:
    """``docker build -t <tag>`` from the repository's Dockerfile."""
    run(
        ["docker", "build", "--tag", tag, "--file", str(root / "Dockerfile"), str(root)],
        timeout_s=BUILD_TIMEOUT_S,
    )


def load_image(tag: str = IMAGE, name: str = CLUSTER_NAME) -> None:
    """``kind load docker-image <tag>``: copy the local image into every node's containerd."""
    run(["kind", "load", "docker-image", tag, "--name", name], timeout_s=LOAD_TIMEOUT_S)


# --------------------------------------------------------------------------------------------
# Deploy


def read_admin_token(context: str, namespace: str = NAMESPACE) -> str | None:
    """The toolbox admin token from Secret toolbox-admin, or None when there is no such Secret."""
    proc = kubectl(
        context,
        "--namespace",
        namespace,
        "get",
        "secret",
        TOOLBOX_SECRET,
        "--output",
        f"jsonpath={{.data.{TOOLBOX_SECRET_KEY}}}",
        check=False,
    )
    if proc.returncode != 0:
        if "NotFound" in proc.stderr or "not found" in proc.stderr:
            return None
        raise HarnessError(
            f"cannot read Secret {namespace}/{TOOLBOX_SECRET}: {_tail(proc.stderr) or 'no output'}"
        )
    encoded = proc.stdout.strip()
    return base64.b64decode(encoded).decode() if encoded else None


def ensure_admin_token(context: str, namespace: str = NAMESPACE) -> str:
    """Keep the existing toolbox token, or create a random one (the value never hits argv)."""
    token = read_admin_token(context, namespace)
    if token:
        return token
    token = secrets.token_urlsafe(24)
    manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": TOOLBOX_SECRET,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/part-of": "stampede"},
        },
        "type": "Opaque",
        "stringData": {TOOLBOX_SECRET_KEY: token},
    }
    kubectl(context, "apply", "--filename", "-", stdin=json.dumps(manifest))
    return token


def ensure_namespace(context: str, namespace: str = NAMESPACE) -> None:
    """Create the namespace if needed (the Secret must exist before the toolbox starts)."""
    manifest = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
    kubectl(context, "apply", "--filename", "-", stdin=json.dumps(manifest))


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
) -> None:
    """``kubectl rollout status`` for each Deployment; HarnessError naming the first stuck one."""
    for deployment in names:
        proc = kubectl(
            context,
            "--namespace",
            namespace,
            "rollout",
            "status",
            f"deployment/{deployment}",
            f"--timeout={int(timeout_s)}s",
            timeout_s=timeout_s + 30,
            check=False,
        )
        if proc.returncode != 0:
            raise HarnessError(
                f"deployment {namespace}/{deployment} did not roll out within {timeout_s:g} s "
                f"({_tail(proc.stderr) or _tail(proc.stdout) or 'no output'}); look at "
                f"`kubectl --context {context} -n {namespace} describe deployment/{deployment}`"
            )


def deploy(
    name: str = CLUSTER_NAME,
    *,
    build: bool = True,
    overlay: Path = KIND_OVERLAY,
    timeout_s: float = ROLLOUT_TIMEOUT_S,
    say: Say = _quiet,
) -> Endpoints:
    """Build and load the image, apply the kind overlay, wait until everything is rolled out."""
    for tool in ("kind", "kubectl", "docker"):
        require(tool)
    require_docker_engine()
    require_cluster(name)
    context = kube_context(name)
    if build:
        say(f"building image {IMAGE} (docker build)")
        build_image(IMAGE)
    say(f"loading image {IMAGE} into kind cluster {name!r}")
    load_image(IMAGE, name)
    existed = deployment_names(context)
    ensure_namespace(context)
    ensure_admin_token(context)
    shown = overlay.relative_to(REPO_ROOT) if overlay.is_relative_to(REPO_ROOT) else overlay
    say(f"applying {shown}")
    kubectl(context, "apply", "--kustomize", str(overlay), timeout_s=120)
    # The image tag stays `dev`: pods that already ran must be recreated to pick up a new build.
    restart = sorted(existed & {AGENT, "toolbox"}) if build else []
    for deployment in restart:
        kubectl(context, "--namespace", NAMESPACE, "rollout", "restart", f"deployment/{deployment}")
    if restart:
        say(f"restarted {', '.join(restart)} to run the new image")
    say("waiting for metrics-server and the stampede deployments to roll out")
    wait_for_rollouts(context, METRICS_SERVER[0], [METRICS_SERVER[1]], timeout_s)
    wait_for_rollouts(context, NAMESPACE, DEPLOYMENTS, timeout_s)
    found = endpoints(name)
    say(f"agent at {found.agent_url}, toolbox at {found.toolbox_url}")
    return found


# --------------------------------------------------------------------------------------------
# What a suite runner needs


@dataclass(frozen=True)
class Endpoints:
    """How the host reaches the deployed system (URLs go through kind's 127.0.0.1 mappings)."""

    context: str
    namespace: str
    agent_url: str
    toolbox_url: str
    toolbox_token: str = field(default="", repr=False)


def endpoints(name: str = CLUSTER_NAME, config: Path = KIND_CONFIG) -> Endpoints:
    """Agent and toolbox URLs on the host, the admin token (read from the cluster), the context."""
    data = load_kind_config(config)
    context = kube_context(name)
    return Endpoints(
        context=context,
        namespace=NAMESPACE,
        agent_url=f"http://127.0.0.1:{host_port(AGENT_NODE_PORT, data)}",
        toolbox_url=f"http://127.0.0.1:{host_port(TOOLBOX_NODE_PORT, data)}",
        toolbox_token=read_admin_token(context) or "",
    )


def chaos_env(found: Endpoints) -> dict[str, str]:
    """Environment for Chaos Toolkit runs of experiments/kind/*.json (read by their config)."""
    return {
        "KUBERNETES_CONTEXT": found.context,  # chaosk8s and the context guard both use it
        "STAMPEDE_NAMESPACE": found.namespace,
        "STAMPEDE_AGENT_URL": found.agent_url,
        "STAMPEDE_TOOLBOX_URL": found.toolbox_url,
        "STAMPEDE_TOOLBOX_TOKEN": found.toolbox_token,
    }


def replica_counts(api: Any, namespace: str = NAMESPACE, timeout_s: float = 3.0) -> dict[str, int]:
    """``{deployment: ready replicas, "hpa/<name>": desired replicas}`` from one API client."""
    from kubernetes import client

    apps: Any = client.AppsV1Api(api)
    autoscaling: Any = client.AutoscalingV2Api(api)
    counts: dict[str, int] = {}
    deployments = apps.list_namespaced_deployment(namespace, _request_timeout=timeout_s)
    for item in deployments.items:
        counts[item.metadata.name] = int(item.status.ready_replicas or 0)
    hpas = autoscaling.list_namespaced_horizontal_pod_autoscaler(
        namespace, _request_timeout=timeout_s
    )
    for hpa in hpas.items:
        counts[f"hpa/{hpa.metadata.name}"] = int(hpa.status.desired_replicas or 0)
    return counts


class ReplicaSampler:
    """Replica counts for samples.csv (metric ``replicas``), one API client reused per call."""

    def __init__(self, context: str = kube_context(), namespace: str = NAMESPACE) -> None:
        if not context.startswith("kind-"):
            raise InputError(f"ReplicaSampler samples kind contexts (kind-*), got {context!r}")
        self.context = context
        self.namespace = namespace
        self._api: Any = None

    def _client(self) -> Any:
        if self._api is None:
            from kubernetes import config

            self._api = config.new_client_from_config(
                config_file=os.environ.get("KUBECONFIG") or None, context=self.context
            )
        return self._api

    def sample(self) -> list[tuple[str, str, float]]:
        """``(metric, label, value)`` rows: ready replicas per Deployment, HPA desired replicas."""
        counts = replica_counts(self._client(), self.namespace)
        return [("replicas", label, float(value)) for label, value in sorted(counts.items())]

    def rows(self, experiment: str, ts: float | None = None) -> list[dict[str, Any]]:
        """samples.csv rows ``ts,experiment,metric,label,value`` for one sample."""
        now = time.time() if ts is None else ts
        return [
            {"ts": now, "experiment": experiment, "metric": m, "label": label, "value": v}
            for m, label, v in self.sample()
        ]


# --------------------------------------------------------------------------------------------
# Status and repair


def status(name: str = CLUSTER_NAME) -> dict[str, Any]:
    """Cluster, nodes, deployments, HPA and URLs as a dict (``exists: False`` if no cluster)."""
    require("kind")
    context = kube_context(name)
    report: dict[str, Any] = {"cluster": name, "context": context, "exists": cluster_exists(name)}
    if not report["exists"]:
        return report
    nodes = json.loads(kubectl(context, "get", "nodes", "--output", "json").stdout)
    report["nodes"] = [
        {
            "name": node["metadata"]["name"],
            "ready": any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in node.get("status", {}).get("conditions", [])
            ),
            "schedulable": not node.get("spec", {}).get("unschedulable", False),
        }
        for node in nodes.get("items", [])
    ]
    deploys = json.loads(
        kubectl(context, "--namespace", NAMESPACE, "get", "deployments", "--output", "json").stdout
    )
    report["deployments"] = {
        item["metadata"]["name"]: {
            "ready": int(item.get("status", {}).get("readyReplicas") or 0),
            "desired": int(item.get("spec", {}).get("replicas") or 0),
        }
        for item in deploys.get("items", [])
    }
    hpas = json.loads(
        kubectl(context, "--namespace", NAMESPACE, "get", "hpa", "--output", "json").stdout
    )
    report["hpa"] = {
        item["metadata"]["name"]: {
            "current": int(item.get("status", {}).get("currentReplicas") or 0),
            "desired": int(item.get("status", {}).get("desiredReplicas") or 0),
        }
        for item in hpas.get("items", [])
    }
    data = load_kind_config()
    report["agent_url"] = f"http://127.0.0.1:{host_port(AGENT_NODE_PORT, data)}"
    report["toolbox_url"] = f"http://127.0.0.1:{host_port(TOOLBOX_NODE_PORT, data)}"
    return report


def ready_problem(report: dict[str, Any]) -> str | None:
    """None when ``status()`` shows every node and deployment ready, else what is not."""
    if not report.get("exists"):
        return f"no kind cluster {report.get('cluster')!r}"
    problems = [f"node {n['name']} not ready" for n in report.get("nodes", []) if not n["ready"]]
    deployments = report.get("deployments", {})
    for deployment in DEPLOYMENTS:
        row = deployments.get(deployment)
        if row is None:
            problems.append(f"deployment {deployment} missing")
        elif row["ready"] < max(row["desired"], 1):
            problems.append(f"deployment {deployment} {row['ready']}/{row['desired']} ready")
    return "; ".join(problems) or None


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
    context: str, weakness: str | None, namespace: str = NAMESPACE, say: Say = _quiet
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


def heal(found: Endpoints, say: Say = _quiet) -> list[str]:
    """Undo what an interrupted kind experiment may have left; say what was done."""
    import httpx

    done: list[str] = []
    headers = {"Authorization": f"Bearer {found.toolbox_token}"}
    try:
        faults = httpx.get(f"{found.toolbox_url}/faults", headers=headers, timeout=3.0)
        faults.raise_for_status()
        active = sorted((faults.json() or {}).get("faults", {}))
        if active:
            httpx.delete(f"{found.toolbox_url}/faults", headers=headers, timeout=3.0)
            done.append(f"cleared toolbox faults left behind: {', '.join(active)}")
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        done.append(f"could not check toolbox faults: {type(exc).__name__}: {exc}")
    try:
        nodes = json.loads(kubectl(found.context, "get", "nodes", "--output", "json").stdout)
        for node in nodes.get("items", []):
            meta = node["metadata"]
            if CORDON_ANNOTATION in (meta.get("annotations") or {}):
                kubectl(found.context, "uncordon", meta["name"])
                kubectl(found.context, "annotate", "node", meta["name"], f"{CORDON_ANNOTATION}-")
                done.append(f"uncordoned node {meta['name']} left cordoned by an experiment")
        replicas = kubectl(
            found.context,
            "--namespace",
            found.namespace,
            "get",
            "deployment/redis",
            "--output",
            "jsonpath={.spec.replicas}",
        ).stdout.strip()
        if replicas == "0":
            namespace = found.namespace
            kubectl(
                found.context, "--namespace", namespace, "scale", "deployment/redis", "--replicas=1"
            )
            done.append("scaled redis back to 1 replica")
    except StampedeError as exc:
        done.append(f"could not check nodes or redis: {exc}")
    for line in done:
        say(line)
    return done


# --------------------------------------------------------------------------------------------
# The suite's Target (stampede.suite.Target protocol)


class KindTarget:
    """`stampede suite --target kind`: reuse a ready cluster, else create/deploy what is missing."""

    name = "kind"

    def __init__(self, weakness: str | None = None, cluster: str = CLUSTER_NAME) -> None:
        self.weakness = weakness
        self.cluster = cluster
        self.context = kube_context(cluster)
        self.started_by_us = False  # the suite deletes the cluster only if it created it
        self.endpoints: Endpoints | None = None
        self._sampler = ReplicaSampler(self.context, NAMESPACE)

    def up(self, say: Say) -> Any:
        from stampede.targets.base import TargetInfo

        created = up(self.cluster, say=say)
        self.started_by_us = created
        problem = None if created else ready_problem(status(self.cluster))
        if created or problem:
            if problem:
                say(f"kind cluster {self.cluster!r}: {problem}; deploying")
            deploy(self.cluster, build=True, say=say)
            action = "started" if created else f"deployed ({problem})"
        else:
            action = "reused"
        if agent_weakness(self.context) != self.weakness:
            set_agent_weakness(self.context, self.weakness, say=say)
            action = f"{action}, weakness {self.weakness or 'none'}"
        found = self.endpoints = endpoints(self.cluster)
        return TargetInfo(
            agent_url=found.agent_url,
            weakness=self.weakness,
            action=action,
            details={
                "cluster": self.cluster,
                "context": found.context,
                "namespace": found.namespace,
                "toolbox_url": found.toolbox_url,
                "image": IMAGE,
            },
        )

    def _found(self) -> Endpoints:
        if self.endpoints is None:
            self.endpoints = endpoints(self.cluster)
        return self.endpoints

    def chaos_env(self) -> dict[str, str]:
        return chaos_env(self._found())

    def fetch_metrics(self) -> str:
        import httpx

        response = httpx.get(f"{self._found().agent_url}/metrics", timeout=2.0)
        response.raise_for_status()
        return response.text

    def extra_samples(self) -> list[tuple[str, str, float]]:
        return self._sampler.sample()

    def probe_alerts(self) -> list[dict[str, Any]]:
        try:
            from target_agent.toolbox.catalogue import catalogue
        except ImportError:
            return []
        return [incident.alert() for incident in catalogue()]

    def heal(self) -> list[str]:
        return heal(self._found())

    def down(self, say: Say) -> None:
        down(self.cluster, say=say)


def suite_target(weakness: str | None = None, cluster: str = CLUSTER_NAME) -> KindTarget:
    """The kind target for `stampede suite --target kind` (see stampede.suite.make_target)."""
    return KindTarget(weakness=weakness, cluster=cluster)
