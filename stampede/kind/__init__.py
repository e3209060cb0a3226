"""The kind target's machinery: create the cluster, build and load the image, deploy, report.

A missing ``kind``/``docker``/``kubectl`` is an ``InputError`` that says what to install; a
command that fails or hangs is a ``HarnessError`` that names it; the CLI prints either as one
line and exits 2. kubectl is always given ``--context kind-<name>``.

    up       kind create cluster (k8s/kind-cluster.yaml), unless it exists   (cluster.py)
    deploy   docker build -> kind load docker-image -> Secret -> kubectl apply -k -> rollouts
                                                                             (deploy.py)
    down     kind delete cluster                                             (cluster.py)
    status   nodes, deployments, HPA, URLs; replica counts for samples.csv   (status.py)
    heal     uncordon nodes, scale redis back (faults: the target)           (heal.py)

``deploy`` creates the Secrets the manifests name but do not hold (``GENERATED_SECRETS``: the
toolbox admin token, the password of the agent's checkpoint database), random, kept once made.

Modules: ``layout`` (names, paths, timeouts), ``tools`` (the one shell-out helper), ``secret``
(namespace, generated Secrets), ``endpoints`` (URLs on the host, chaos env). The suite's target for
kind is ``stampede.targets.kind.KindTarget``, built on these.
"""

from __future__ import annotations

from stampede.kind.cluster import (
    cluster_exists,
    down,
    host_port,
    kube_context,
    load_kind_config,
    require_cluster,
    up,
)
from stampede.kind.deploy import (
    agent_weakness,
    deploy,
    deployment_names,
    set_agent_weakness,
    wait_for_rollouts,
)
from stampede.kind.endpoints import Endpoints, chaos_env, endpoints
from stampede.kind.heal import heal_cluster
from stampede.kind.image import (
    build_image,
    build_images,
    deployed_source,
    image_id,
    load_image,
    source_digest,
)
from stampede.kind.layout import (
    AGENT,
    AGENT_NODE_PORT,
    BUILD_TIMEOUT_S,
    CHECKPOINT_SECRET,
    CHECKPOINT_SECRET_KEY,
    CLUSTER_NAME,
    CORDON_ANNOTATION,
    CREATE_TIMEOUT_S,
    DEPLOYMENTS,
    GENERATED_SECRETS,
    HARNESS_IMAGE,
    IMAGE,
    IMAGES,
    KIND_CONFIG,
    KIND_OVERLAY,
    KUBECTL_TIMEOUT_S,
    LOAD_TIMEOUT_S,
    METRICS_SERVER,
    NAMESPACE,
    REPO_ROOT,
    ROLLOUT_TIMEOUT_S,
    STATEFULSETS,
    TOOLBOX_NODE_PORT,
    TOOLBOX_SECRET,
    TOOLBOX_SECRET_KEY,
)
from stampede.kind.secret import ensure_namespace, ensure_secret, read_admin_token, read_secret
from stampede.kind.status import ReplicaSampler, ready_problem, replica_counts, status
from stampede.kind.tools import (
    INSTALL_HINTS,
    Say,
    docker_engine_problem,
    kubectl,
    require,
    require_docker_engine,
    run,
)

__all__ = [
    "AGENT",
    "AGENT_NODE_PORT",
    "BUILD_TIMEOUT_S",
    "CHECKPOINT_SECRET",
    "CHECKPOINT_SECRET_KEY",
    "CLUSTER_NAME",
    "CORDON_ANNOTATION",
    "CREATE_TIMEOUT_S",
    "DEPLOYMENTS",
    "GENERATED_SECRETS",
    "HARNESS_IMAGE",
    "IMAGE",
    "IMAGES",
    "INSTALL_HINTS",
    "KIND_CONFIG",
    "KIND_OVERLAY",
    "KUBECTL_TIMEOUT_S",
    "LOAD_TIMEOUT_S",
    "METRICS_SERVER",
    "NAMESPACE",
    "REPO_ROOT",
    "ROLLOUT_TIMEOUT_S",
    "STATEFULSETS",
    "TOOLBOX_NODE_PORT",
    "TOOLBOX_SECRET",
    "TOOLBOX_SECRET_KEY",
    "Endpoints",
    "ReplicaSampler",
    "Say",
    "agent_weakness",
    "build_image",
    "build_images",
    "chaos_env",
    "cluster_exists",
    "deploy",
    "deployed_source",
    "deployment_names",
    "docker_engine_problem",
    "down",
    "endpoints",
    "ensure_namespace",
    "ensure_secret",
    "heal_cluster",
    "host_port",
    "image_id",
    "kube_context",
    "kubectl",
    "load_image",
    "load_kind_config",
    "read_admin_token",
    "read_secret",
    "ready_problem",
    "replica_counts",
    "require",
    "require_cluster",
    "require_docker_engine",
    "run",
    "set_agent_weakness",
    "source_digest",
    "status",
    "up",
    "wait_for_rollouts",
]
