"""The agent's LangGraph checkpoints on Kubernetes: PostgreSQL, reachable from the agent only.

Offline, on the rendered manifests (no cluster runs here): the agent's DSN is built from Secret
checkpoint-postgres and names the user, database, StatefulSet pod and headless Service that
k8s/base/postgres.yaml defines; the NetworkPolicies admit agent -> postgres:5432 and nothing else
into postgres; the data lives on the StatefulSet's claim, which nothing deletes.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from typing import Any
from urllib.parse import urlparse

import pytest

from stampede import kind
from target_agent.agent.settings import Settings
from tests.k8s import support

Objects = list[dict[str, Any]]
DSN_VAR = "AGENT_CHECKPOINT_POSTGRES_DSN"
_REF = re.compile(r"\$\((\w+)\)")
POD_IP = "10.244.1.7"  # an address in kind's pod subnet
NODE_IP = "172.18.0.3"  # an address of a kind node (the host side of a NodePort)


def _agent_env(objects: Objects) -> list[dict[str, Any]]:
    (container,) = support.one(objects, "Deployment", "agent")["spec"]["template"]["spec"][
        "containers"
    ]
    return list(container["env"])


def _postgres(objects: Objects) -> tuple[dict[str, Any], dict[str, Any]]:
    statefulset = support.one(objects, "StatefulSet", "postgres")
    (container,) = statefulset["spec"]["template"]["spec"]["containers"]
    return statefulset, container


def _env_values(container: dict[str, Any]) -> dict[str, str]:
    return {var["name"]: var["value"] for var in container["env"] if "value" in var}


# --------------------------------------------------------------------------------------------
# The agent's DSN


def test_the_agent_is_configured_for_postgres_checkpoints(kind_objects: Objects) -> None:
    data = support.one(kind_objects, "ConfigMap", "agent-config")["data"]
    assert data["AGENT_CHECKPOINT_BACKEND"] == "postgres"
    assert DSN_VAR not in data, "the DSN carries the password: not in a ConfigMap"


def test_the_dsn_password_is_expanded_from_the_secret_defined_before_it(
    kind_objects: Objects,
) -> None:
    """Kubernetes expands $(VAR) only from variables defined earlier in the same container."""
    env = _agent_env(kind_objects)
    names = [var["name"] for var in env]
    (dsn,) = [var for var in env if var["name"] == DSN_VAR]
    (ref,) = _REF.findall(dsn["value"])
    source = env[names.index(ref)]
    assert names.index(ref) < names.index(DSN_VAR)
    assert source["valueFrom"]["secretKeyRef"] == {
        "name": kind.CHECKPOINT_SECRET,
        "key": kind.CHECKPOINT_SECRET_KEY,
    }
    assert "optional" not in source["valueFrom"]["secretKeyRef"], "no Secret, no agent"
    url = urlparse(dsn["value"])
    assert url.password == f"$({ref})", "the only credential in the DSN is the reference"


def test_the_dsn_names_the_statefulsets_user_database_pod_and_service(
    kind_objects: Objects,
) -> None:
    (dsn,) = [var["value"] for var in _agent_env(kind_objects) if var["name"] == DSN_VAR]
    url = urlparse(_REF.sub("pw", dsn))
    assert url.scheme in ("postgresql", "postgres")
    statefulset, container = _postgres(kind_objects)
    env = _env_values(container)
    assert url.username == env["POSTGRES_USER"]
    assert url.path == f"/{env['POSTGRES_DB']}"
    # <statefulset>-<ordinal>.<serviceName>: the stable DNS name of the one replica.
    pod, _, service_name = str(url.hostname).partition(".")
    assert pod == f"{statefulset['metadata']['name']}-0" and statefulset["spec"]["replicas"] >= 1
    assert service_name == statefulset["spec"]["serviceName"]
    service = support.one(kind_objects, "Service", service_name)
    assert service["spec"]["clusterIP"] == "None", "pod DNS names need a headless Service"
    labels = statefulset["spec"]["template"]["metadata"]["labels"]
    assert support.selector_matches({"matchLabels": service["spec"]["selector"]}, labels)
    (port,) = service["spec"]["ports"]
    assert url.port == port["port"] == 5432
    declared = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert declared[port["targetPort"]] == port["port"]


def test_postgres_reads_its_password_from_the_same_secret_as_a_file(kind_objects: Objects) -> None:
    statefulset, container = _postgres(kind_objects)
    spec = statefulset["spec"]["template"]["spec"]
    env = _env_values(container)
    assert "POSTGRES_PASSWORD" not in env, "the password comes from the Secret, as a file"
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    (volume,) = [v for v in spec["volumes"] if "secret" in v]
    assert volume["secret"]["secretName"] == kind.CHECKPOINT_SECRET
    assert "items" not in volume["secret"], "each key is a file named after it"
    expected = f"{mounts[volume['name']]}/{kind.CHECKPOINT_SECRET_KEY}"
    assert env["POSTGRES_PASSWORD_FILE"] == expected
    for probe in (container["readinessProbe"], container["livenessProbe"]):
        argv = probe["exec"]["command"]
        assert argv[argv.index("-U") + 1] == env["POSTGRES_USER"]
        assert argv[argv.index("-d") + 1] == env["POSTGRES_DB"]


@pytest.mark.parametrize("name", sorted(support.KUSTOMIZATIONS))
def test_no_manifest_holds_a_secret_or_a_password(rendered: dict[str, Objects], name: str) -> None:
    """`stampede kind deploy` creates the Secrets (test_kind_cli.py); none is in the manifests."""
    assert not support.find(rendered[name], "Secret")
    for workload, template in support.pod_templates(rendered[name]):
        for container in support.containers(template):
            for var in container.get("env", []):
                if "PASSWORD" in var["name"] and "value" in var:
                    assert var["name"].endswith("_FILE"), (support.key(workload), var)


def test_settings_accept_the_dsn_once_expanded(kind_objects: Objects) -> None:
    (dsn,) = [var["value"] for var in _agent_env(kind_objects) if var["name"] == DSN_VAR]
    data = support.one(kind_objects, "ConfigMap", "agent-config")["data"]
    settings = Settings(
        checkpoint_backend=data["AGENT_CHECKPOINT_BACKEND"],
        checkpoint_postgres_dsn=_REF.sub("Zm9v-YmFy_", dsn),
    )
    assert settings.checkpoint_backend == "postgres"


def test_the_agent_image_installs_the_postgres_checkpointer() -> None:
    """The agent image's list (Dockerfile) has the saver and psycopg with its own libpq."""
    pyproject = tomllib.loads((support.REPO / "pyproject.toml").read_text(encoding="utf-8"))
    wanted: dict[str, set[str]] = {}
    for requirement in pyproject["tool"]["stampede"]["images"]["agent"]:
        match = re.match(r"([A-Za-z0-9._-]+)(?:\[([^\]]*)\])?", requirement)
        assert match, requirement
        wanted[match.group(1).lower()] = {e.strip() for e in (match.group(2) or "").split(",")}
    assert "langgraph-checkpoint-postgres" in wanted
    assert "binary" in wanted["psycopg"], "the slim image has no system libpq"


# --------------------------------------------------------------------------------------------
# NetworkPolicies, evaluated as the API defines them (podSelector, namespaceSelector, ipBlock,
# ports; a pod no policy of a direction selects is not isolated in that direction)


class Pod:
    def __init__(self, where: str, namespace: str, labels: dict[str, str], ip: str) -> None:
        self.where, self.namespace, self.labels, self.ip = where, namespace, labels, ip


def _namespace_labels(objects: Objects) -> dict[str, dict[str, str]]:
    return {
        ns["metadata"]["name"]: {
            **ns["metadata"].get("labels", {}),
            "kubernetes.io/metadata.name": ns["metadata"]["name"],
        }
        for ns in support.find(objects, "Namespace")
    }


def _peer_matches(
    peer: dict[str, Any], policy_ns: str, pod: Pod, namespaces: dict[str, dict[str, str]]
) -> bool:
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        ip = ipaddress.ip_address(pod.ip)
        excepted = any(ip in ipaddress.ip_network(c) for c in block.get("except", []))
        return ip in ipaddress.ip_network(block["cidr"]) and not excepted
    if pod.namespace == "":
        return False  # not a pod: only an ipBlock can match it
    if "namespaceSelector" in peer:
        # Every namespace carries its name as a label; rendered ones may carry more.
        labels = namespaces.get(pod.namespace, {"kubernetes.io/metadata.name": pod.namespace})
        ns_ok = support.selector_matches(peer["namespaceSelector"], labels)
    else:
        ns_ok = pod.namespace == policy_ns
    return ns_ok and support.selector_matches(peer.get("podSelector", {}), pod.labels)


def _admits(objects: Objects, direction: str, subject: Pod, peer: Pod, port: int) -> bool:
    """Whether ``subject``'s policies of ``direction`` let it talk with ``peer`` on TCP ``port``."""
    namespaces = _namespace_labels(objects)
    policies = [
        p
        for p in support.find(objects, "NetworkPolicy")
        if p["metadata"]["namespace"] == subject.namespace
        and direction in p["spec"].get("policyTypes", ["Ingress"])
        and support.selector_matches(p["spec"]["podSelector"], subject.labels)
    ]
    if not policies:
        return True
    key, peers_key = direction.lower(), "from" if direction == "Ingress" else "to"
    for policy in policies:
        for rule in policy["spec"].get(key, []):
            ports = rule.get("ports")
            if ports and not any(
                p.get("protocol", "TCP") == "TCP" and p.get("port") in (None, port) for p in ports
            ):
                continue
            peers = rule.get(peers_key)
            if not peers or any(
                _peer_matches(x, policy["metadata"]["namespace"], peer, namespaces) for x in peers
            ):
                return True
    return False


@pytest.fixture(scope="module")
def cluster(rendered: dict[str, Objects]) -> Objects:
    """Everything `stampede kind` may apply: the stack, the in-cluster load and chaos runners."""
    return [obj for name in ("kind", "kind-loadgen", "kind-chaos") for obj in rendered[name]]


def _pods(objects: Objects) -> list[Pod]:
    return [
        Pod(support.key(w), w["metadata"]["namespace"], t["metadata"].get("labels", {}), POD_IP)
        for w, t in support.pod_templates(objects)
    ]


def _postgres_pod(objects: Objects) -> Pod:
    (pod,) = [p for p in _pods(objects) if p.where == "StatefulSet stampede/postgres"]
    return pod


def test_only_agent_pods_may_connect_to_postgres(cluster: Objects) -> None:
    postgres = _postgres_pod(cluster)
    admitted = sorted(
        p.where for p in _pods(cluster) if _admits(cluster, "Ingress", postgres, p, 5432)
    )
    assert admitted == ["Deployment stampede/agent"]
    outsiders = [
        Pod("an unlabelled pod in another namespace", "elsewhere", {}, POD_IP),
        Pod("a chaos runner", "stampede-loadgen", {"stampede.dev/chaos-runner": "true"}, POD_IP),
        Pod("a kind node / the host", "", {}, NODE_IP),
    ]
    for outsider in outsiders:
        assert not _admits(cluster, "Ingress", postgres, outsider, 5432), outsider.where


def test_the_agent_reaches_postgres_on_5432_only(cluster: Objects) -> None:
    postgres = _postgres_pod(cluster)
    (agent,) = [p for p in _pods(cluster) if p.where == "Deployment stampede/agent"]
    assert _admits(cluster, "Egress", agent, postgres, 5432), "the agent's egress must allow it"
    assert _admits(cluster, "Ingress", postgres, agent, 5432)
    assert not _admits(cluster, "Ingress", postgres, agent, 8080), "nothing but PostgreSQL's port"


def test_the_evaluator_sees_the_known_rules(cluster: Objects) -> None:
    """The policy evaluator above, on rules the other tests know: it can say no and yes."""
    pods = {p.where: p for p in _pods(cluster)}
    toolbox, redis = pods["Deployment stampede/toolbox"], pods["Deployment stampede/redis"]
    prometheus = pods["Deployment stampede/prometheus"]
    assert _admits(cluster, "Ingress", toolbox, prometheus, 8100)
    assert not _admits(cluster, "Ingress", redis, prometheus, 6379)
    host = Pod("the host", "", {}, NODE_IP)
    assert _admits(cluster, "Ingress", toolbox, host, 8100), "kind's toolbox-from-host rule"
    assert not _admits(cluster, "Ingress", toolbox, Pod("x", "", {}, POD_IP), 8100)


# --------------------------------------------------------------------------------------------
# Durable data: the claim outlives the pod


def test_postgres_keeps_its_data_on_the_statefulsets_claim(kind_objects: Objects) -> None:
    statefulset, container = _postgres(kind_objects)
    spec = statefulset["spec"]
    (claim,) = spec["volumeClaimTemplates"]
    name = claim["metadata"]["name"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert "storageClassName" not in claim["spec"], "kind's default StorageClass (standard)"
    assert claim["spec"]["resources"]["requests"]["storage"]
    volumes = {v["name"] for v in spec["template"]["spec"]["volumes"]}
    assert name not in volumes, "a pod volume of that name would shadow the claim"
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    pgdata = _env_values(container)["PGDATA"]
    assert pgdata.startswith(mounts[name] + "/"), "PGDATA on the claim (a subdirectory of it)"
    # Deleting or scaling down the StatefulSet keeps the claim (the API default is Retain).
    retention = spec.get("persistentVolumeClaimRetentionPolicy", {})
    assert set(retention.values()) <= {"Retain"}, retention
    # One writer: the StatefulSet replaces its pod only after the old one is gone.
    assert spec["replicas"] == 1
    assert spec.get("updateStrategy", {}).get("type", "RollingUpdate") == "RollingUpdate"
    assert spec.get("podManagementPolicy", "OrderedReady") == "OrderedReady"


def test_postgres_runs_on_the_control_plane_in_kind(kind_objects: Objects) -> None:
    """kind's local-path volume stays on its node: a drained worker would strand the pod."""
    spec = _postgres(kind_objects)[0]["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {"node-role.kubernetes.io/control-plane": ""}
    assert any(t["key"] == "node-role.kubernetes.io/control-plane" for t in spec["tolerations"])


def test_no_experiment_deletes_the_checkpoint_store() -> None:
    """Pods may be killed; nothing deletes the StatefulSet, its claim or scales it to zero."""
    checked = 0
    for path, experiment in support.experiments().items():
        for activity in support.activities(experiment):
            provider = activity["provider"]
            func = str(provider.get("func", ""))
            args = provider.get("arguments", {})
            text = str(provider).lower()
            assert "persistentvolumeclaim" not in text and "statefulset" not in text, (path, func)
            if "postgres" in str(args):
                assert not func.startswith(("delete", "remove", "scale")), (path, func)
            checked += 1
    assert checked
