"""Names and paths of the kind deployment: cluster, namespace, image, ports, Secret, Deployments.

Read by every module of ``stampede.kind``; the manifests under ``k8s/`` must agree (tests/k8s
checks they do).
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
KIND_CONFIG = REPO_ROOT / "k8s" / "kind-cluster.yaml"
KIND_OVERLAY = REPO_ROOT / "k8s" / "overlays" / "kind"

CLUSTER_NAME = "stampede"
NAMESPACE = "stampede"
# The agent + toolbox image (Dockerfile target `agent`, the kind overlay's), and the harness image
# (target `harness`: Locust + Chaos Toolkit, the kind-loadgen and kind-chaos overlays').
IMAGE = "stampede:dev"
HARNESS_IMAGE = "stampede-harness:dev"
IMAGES = {IMAGE: "agent", HARNESS_IMAGE: "harness"}  # tag -> Dockerfile target, built and loaded
SOURCE_LABEL = "dev.stampede.source"  # image label: digest of the sources it was built from
SOURCE_ANNOTATION = "stampede.dev/source"  # on the agent Deployment: the digest it runs
AGENT_NODE_PORT = 30800
TOOLBOX_NODE_PORT = 30810
TOOLBOX_SECRET = "toolbox-admin"
TOOLBOX_SECRET_KEY = "token"
# The password of the agent's checkpoint database (k8s/base/postgres.yaml, docs/durable.md).
CHECKPOINT_SECRET = "checkpoint-postgres"
CHECKPOINT_SECRET_KEY = "password"
# Secrets that are not in the manifests: `deploy` creates each with a random value, once.
GENERATED_SECRETS = (
    (TOOLBOX_SECRET, TOOLBOX_SECRET_KEY),
    (CHECKPOINT_SECRET, CHECKPOINT_SECRET_KEY),
)
AGENT = "agent"
DEPLOYMENTS = ("redis", "toolbox", "prometheus", AGENT)  # waited for, in this order
# Waited for before the agent, whose workers open the checkpointer as they start.
STATEFULSETS = ("postgres",)
METRICS_SERVER = ("kube-system", "metrics-server")
# Nodes cordoned by experiments/activities/k8s carry this annotation (see heal).
CORDON_ANNOTATION = "stampede.dev/cordoned-by"

# Bounded waits (seconds).
CREATE_TIMEOUT_S = 600
BUILD_TIMEOUT_S = 1800
LOAD_TIMEOUT_S = 600
ROLLOUT_TIMEOUT_S = 300
KUBECTL_TIMEOUT_S = 60
