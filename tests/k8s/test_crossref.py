"""Cross-references the schema cannot see: selectors, ports, probe paths, env vars, images.

Each test reads the rendered manifests (what `kubectl apply -k` sends) and checks them against
the other side of the reference: the apps' FastAPI routes and Settings classes (imported, so a
missing app module FAILS these tests rather than skipping), the kind cluster config, the
experiments, stampede.kind.
"""

from __future__ import annotations

import importlib
import ipaddress
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from experiments.activities.k8s import actions
from stampede import __version__, kind, profiles
from target_agent.agent.settings import Settings
from tests.k8s import support

Objects = list[dict[str, Any]]
OUR_IMAGE = "stampede"
_REFS = re.compile(r"\$\((\w+)\)")  # Kubernetes' $(VAR) expansion in env values
HARNESS = "stampede-harness"


# --------------------------------------------------------------------------------------------
# Helpers


def _pods_selected(objects: Objects, namespace: str, selector: dict[str, Any]) -> list[str]:
    return [
        support.key(workload)
        for workload, template in support.pod_templates(objects)
        if workload["metadata"].get("namespace") == namespace
        and support.selector_matches(selector, template["metadata"].get("labels", {}))
    ]


def _template_of(objects: Objects, namespace: str, selector: dict[str, Any]) -> dict[str, Any]:
    matches = [
        template
        for workload, template in support.pod_templates(objects)
        if workload["metadata"].get("namespace") == namespace
        and support.selector_matches(selector, template["metadata"].get("labels", {}))
    ]
    assert matches, f"no pod template in {namespace} matches {selector}"
    return matches[0]


def _named_ports(template: dict[str, Any]) -> dict[str, int]:
    return {
        port["name"]: port["containerPort"]
        for container in support.containers(template)
        for port in container.get("ports", [])
        if "name" in port
    }


def _container_ports(template: dict[str, Any]) -> set[int]:
    return {
        port["containerPort"]
        for container in support.containers(template)
        for port in container.get("ports", [])
    }


def _resolve(port: int | str, template: dict[str, Any]) -> int:
    if isinstance(port, int):
        return port
    named = _named_ports(template)
    assert port in named, f"port name {port!r} not declared by the pod (has {sorted(named)})"
    return named[port]


def _app(spec: str) -> Any:
    """Import ``module:attr`` the way uvicorn does."""
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)


def _uvicorn_target(container: dict[str, Any]) -> str | None:
    argv = [*container.get("command", []), *container.get("args", [])]
    if argv and argv[0] == "uvicorn":
        return next(arg for arg in argv[1:] if ":" in arg and not arg.startswith("-"))
    return None


def _flag(container: dict[str, Any], flag: str) -> str | None:
    argv = [*container.get("command", []), *container.get("args", [])]
    return argv[argv.index(flag) + 1] if flag in argv else None


def _missing_routes(app: Any, paths: set[str]) -> list[str]:
    """The paths the app answers 404 for (GET, without starting its lifespan).

    Asking the app is sturdier than walking ``app.routes``, whose shape changes between FastAPI
    versions (included routers are lazy). A route that exists but fails without its runtime
    answers 5xx, not 404.
    """
    from fastapi.testclient import TestClient

    client = TestClient(app, raise_server_exceptions=False)
    return sorted(path for path in paths if client.get(path).status_code == 404)


def _settings_env_names(package: str, prefix: str) -> set[str]:
    """Env vars read by the BaseSettings class of ``package`` (``<prefix><FIELD>`` + aliases)."""
    from pydantic_settings import BaseSettings

    importlib.import_module(f"{package}.main")  # the app must import; its settings come along
    module = importlib.import_module(f"{package}.settings")
    classes = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, BaseSettings)
        and obj.model_config.get("env_prefix") == prefix
    ]
    assert len(classes) == 1, f"{package}.settings: expected one Settings with prefix {prefix}"
    names = set()
    for field_name, info in classes[0].model_fields.items():
        names.add(f"{prefix}{field_name}".upper())
        if isinstance(info.validation_alias, str):
            names.add(info.validation_alias.upper())
    return names


# --------------------------------------------------------------------------------------------
# Selectors and labels


@pytest.mark.parametrize("name", sorted(support.KUSTOMIZATIONS))
def test_every_workload_selector_matches_its_own_template(
    rendered: dict[str, Objects], name: str
) -> None:
    for workload, template in support.pod_templates(rendered[name]):
        if workload["kind"] == "Job":
            continue  # a Job's selector is generated by the API server
        selector = workload["spec"]["selector"]
        assert support.selector_matches(selector, template["metadata"]["labels"]), support.key(
            workload
        )


@pytest.mark.parametrize("name", sorted(support.KUSTOMIZATIONS))
def test_every_service_selects_pods_and_targets_a_declared_port(
    rendered: dict[str, Objects], name: str
) -> None:
    objects = rendered[name]
    for service in support.find(objects, "Service"):
        namespace = service["metadata"]["namespace"]
        if namespace == "kube-system":
            continue  # vendored metrics-server
        selector = {"matchLabels": service["spec"]["selector"]}
        assert _pods_selected(objects, namespace, selector), f"{support.key(service)} selects none"
        template = _template_of(objects, namespace, selector)
        for port in service["spec"]["ports"]:
            target = _resolve(port.get("targetPort", port["port"]), template)
            assert target in _container_ports(template), f"{support.key(service)} -> {target}"


@pytest.mark.parametrize("name", ["base", "kind"])
def test_network_policies_select_pods_and_name_their_ports(
    rendered: dict[str, Objects], name: str
) -> None:
    objects = rendered[name]
    for policy in support.find(objects, "NetworkPolicy"):
        namespace = policy["metadata"]["namespace"]
        selector = policy["spec"]["podSelector"]
        targets = _pods_selected(objects, namespace, selector)
        assert targets, f"{support.key(policy)} selects no pod"
        for rule in policy["spec"].get("ingress", []):
            for peer in rule.get("from", []):
                if "podSelector" in peer and "namespaceSelector" not in peer:
                    assert _pods_selected(objects, namespace, peer["podSelector"]), (
                        f"{support.key(policy)}: peer {peer} matches no pod in {namespace}"
                    )
            for port in rule.get("ports", []):
                assert isinstance(port["port"], int), "use numeric ports in NetworkPolicies"
                for _, template in [
                    (w, t)
                    for w, t in support.pod_templates(objects)
                    if w["metadata"]["namespace"] == namespace
                    and support.selector_matches(selector, t["metadata"].get("labels", {}))
                ]:
                    assert port["port"] in _container_ports(template), support.key(policy)


def test_every_pod_in_the_namespace_is_covered_by_default_deny(kind_objects: Objects) -> None:
    deny = support.one(kind_objects, "NetworkPolicy", "default-deny-ingress")
    assert deny["spec"]["podSelector"] == {} and "ingress" not in deny["spec"]
    assert deny["spec"]["policyTypes"] == ["Ingress"]


def test_the_toolbox_fault_api_is_reachable_only_from_agent_prometheus_runners_and_host(
    kind_objects: Objects,
) -> None:
    """Who may open a connection to the toolbox (and so to /faults): exactly these peers."""
    rules = [
        rule
        for policy in support.find(kind_objects, "NetworkPolicy")
        if support.selector_matches(
            policy["spec"]["podSelector"], {"app.kubernetes.io/name": "toolbox"}
        )
        and policy["spec"]["podSelector"]  # skip default-deny (it admits nothing)
        for rule in policy["spec"].get("ingress", [])
    ]
    peers = [peer for rule in rules for peer in rule["from"]]  # no rule may omit `from`
    assert all("from" in rule for rule in rules)
    pod_peers = sorted(
        str(peer["podSelector"]["matchLabels"]) for peer in peers if "podSelector" in peer
    )
    assert pod_peers == sorted(
        [
            str({"app.kubernetes.io/name": "agent"}),
            str({"app.kubernetes.io/name": "prometheus"}),
            str({"stampede.dev/chaos-runner": "true"}),
        ]
    )
    blocks = [peer["ipBlock"] for peer in peers if "ipBlock" in peer]
    assert blocks == [{"cidr": "0.0.0.0/0", "except": [support.KIND_DEFAULT_POD_SUBNET]}]


def test_base_toolbox_policy_admits_no_ip_block(rendered: dict[str, Objects]) -> None:
    """Only kind opens the node path (127.0.0.1 on the host); real clusters use port-forward."""
    for policy in support.find(rendered["base"], "NetworkPolicy"):
        for rule in policy["spec"].get("ingress", []):
            assert not any("ipBlock" in peer for peer in rule.get("from", [])), policy


def test_kind_keeps_its_default_pod_subnet(kind_config: dict[str, Any]) -> None:
    """The overlay excludes 10.244.0.0/16 as "pods": the kind config must not move it, and the
    project never defines a container network on a private range."""
    assert "networking" not in kind_config
    ipaddress.ip_network(support.KIND_DEFAULT_POD_SUBNET)


# --------------------------------------------------------------------------------------------
# Probes, routes and the apps


AGENT_APP = "target_agent.agent.main:app"
TOOLBOX_APP = "target_agent.toolbox.main:app"


def test_uvicorn_commands_name_the_reference_apps(kind_objects: Objects) -> None:
    targets = {
        workload["metadata"]["name"]: _uvicorn_target(container)
        for workload, template in support.pod_templates(kind_objects)
        for container in support.containers(template)
        if _uvicorn_target(container)
    }
    assert targets == {"agent": AGENT_APP, "toolbox": TOOLBOX_APP}


@pytest.mark.parametrize("workload", ["agent", "toolbox"])
def test_http_probe_and_scrape_paths_exist_in_the_app_routes(
    kind_objects: Objects, workload: str
) -> None:
    """Import the FastAPI app the container runs and check every path the manifests use."""
    deployment = support.one(kind_objects, "Deployment", workload)
    template = deployment["spec"]["template"]
    (container,) = template["spec"]["containers"]
    target = _uvicorn_target(container)
    assert target is not None
    used = {
        probe["httpGet"]["path"]
        for kind_ in ("startupProbe", "readinessProbe", "livenessProbe")
        if (probe := container.get(kind_)) and "httpGet" in probe
    }
    if template["metadata"].get("annotations", {}).get("prometheus.io/scrape") == "true":
        used.add(template["metadata"]["annotations"]["prometheus.io/path"])
    assert used, f"{workload} has no HTTP probe"
    missing = _missing_routes(_app(target), used)
    assert not missing, f"{workload}: {missing} are not routes of {target}"


def test_agent_readiness_and_liveness_are_different_endpoints(kind_objects: Objects) -> None:
    (container,) = support.one(kind_objects, "Deployment", "agent")["spec"]["template"]["spec"][
        "containers"
    ]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_probe_ports_and_uvicorn_ports_agree_with_container_ports(kind_objects: Objects) -> None:
    for workload, template in support.pod_templates(kind_objects):
        for container in support.containers(template):
            for kind_ in ("startupProbe", "readinessProbe", "livenessProbe"):
                probe = container.get(kind_) or {}
                for handler in ("httpGet", "tcpSocket"):
                    if handler in probe:
                        port = _resolve(probe[handler]["port"], template)
                        assert port in _container_ports(template), support.key(workload)
            uvicorn_port = _flag(container, "--port")
            if uvicorn_port is not None:
                assert int(uvicorn_port) in _container_ports(template), support.key(workload)


def test_agent_url_settings_point_at_services_and_ports(kind_objects: Objects) -> None:
    data = support.one(kind_objects, "ConfigMap", "agent-config")["data"]
    for var in ("AGENT_TOOLBOX_URL", "AGENT_REDIS_URL"):
        url = urlparse(data[var])
        service = support.one(kind_objects, "Service", str(url.hostname))
        assert url.port in {p["port"] for p in service["spec"]["ports"]}, var


@pytest.mark.parametrize(
    ("workload", "package", "prefix"),
    [
        ("agent", "target_agent.agent", "AGENT_"),
        ("toolbox", "target_agent.toolbox", "TOOLBOX_"),
    ],
)
def test_env_vars_the_deployments_set_are_read_by_the_apps_settings(
    kind_objects: Objects, workload: str, package: str, prefix: str
) -> None:
    """Every AGENT_*/TOOLBOX_* variable set (env or ConfigMap envFrom) is a Settings field."""
    read = _settings_env_names(package, prefix)
    template = support.one(kind_objects, "Deployment", workload)["spec"]["template"]
    (container,) = template["spec"]["containers"]
    names = {var["name"] for var in container.get("env", [])}
    for source in container.get("envFrom", []):
        config_map = support.one(kind_objects, "ConfigMap", source["configMapRef"]["name"])
        names |= set(config_map["data"])
    # Read by prometheus-client in the agent's metrics module, not by Settings.
    names.discard("PROMETHEUS_MULTIPROC_DIR")
    # Set only to be expanded into another variable's value ($(VAR), e.g. a password into a DSN).
    names -= {
        ref for var in container.get("env", []) for ref in _REFS.findall(var.get("value", ""))
    }
    assert names, f"{workload} sets no settings"
    unknown = sorted(names - read)
    assert not unknown, f"{workload} sets {unknown}, which {package}.settings does not read"


def test_the_toolbox_admin_token_comes_from_the_secret(kind_objects: Objects) -> None:
    (container,) = support.one(kind_objects, "Deployment", "toolbox")["spec"]["template"]["spec"][
        "containers"
    ]
    (var,) = [v for v in container["env"] if v["name"] == "TOOLBOX_ADMIN_TOKEN"]
    assert var["valueFrom"]["secretKeyRef"] == {
        "name": kind.TOOLBOX_SECRET,
        "key": kind.TOOLBOX_SECRET_KEY,
    }
    assert not support.find(kind_objects, "Secret"), "the token must not live in the manifests"


def test_grace_period_outlasts_prestop_plus_drain_plus_flush(kind_objects: Objects) -> None:
    spec = support.one(kind_objects, "Deployment", "agent")["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    drain = int(_flag(container, "--timeout-graceful-shutdown") or 0)
    flush = Settings.model_fields["shutdown_flush_s"].default
    assert pre_stop >= 3, "endpoints need a few seconds to drop the pod everywhere"
    assert drain > 0, "uvicorn must bound the drain (--timeout-graceful-shutdown)"
    assert spec["terminationGracePeriodSeconds"] > pre_stop + drain + flush


# --------------------------------------------------------------------------------------------
# Scaling, disruption, rollout


def test_hpa_targets_the_agent_which_requests_cpu(kind_objects: Objects) -> None:
    hpa = support.one(kind_objects, "HorizontalPodAutoscaler", "agent")
    ref = hpa["spec"]["scaleTargetRef"]
    deployment = support.one(kind_objects, ref["kind"], ref["name"])
    assert ref["apiVersion"] == deployment["apiVersion"]
    assert hpa["metadata"]["namespace"] == deployment["metadata"]["namespace"]
    for container in deployment["spec"]["template"]["spec"]["containers"]:
        assert container["resources"]["requests"]["cpu"], "CPU utilisation needs a CPU request"
    (metric,) = hpa["spec"]["metrics"]
    assert metric["type"] == "Resource" and metric["resource"]["name"] == "cpu"
    assert hpa["spec"]["minReplicas"] == deployment["spec"]["replicas"] == 3
    assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
    assert set(hpa["spec"]["behavior"]) == {"scaleUp", "scaleDown"}


def test_pdb_selects_the_agent_and_lets_a_drain_proceed(kind_objects: Objects) -> None:
    pdb = support.one(kind_objects, "PodDisruptionBudget", "agent")
    deployment = support.one(kind_objects, "Deployment", "agent")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert support.selector_matches(pdb["spec"]["selector"], labels)
    replicas = deployment["spec"]["replicas"]
    spec = pdb["spec"]
    if "maxUnavailable" in spec:
        allowed = spec["maxUnavailable"]
    else:
        allowed = replicas - spec["minAvailable"]
    assert isinstance(allowed, int)
    assert 1 <= allowed < replicas, "a drain must evict at least one pod and keep one serving"


def test_agent_rollout_never_takes_a_replica_away(kind_objects: Objects) -> None:
    strategy = support.one(kind_objects, "Deployment", "agent")["spec"]["strategy"]
    assert strategy["type"] == "RollingUpdate"
    assert strategy["rollingUpdate"]["maxUnavailable"] == 0
    assert strategy["rollingUpdate"]["maxSurge"] >= 1


def test_agent_spreads_across_nodes_softly(kind_objects: Objects) -> None:
    spec = support.one(kind_objects, "Deployment", "agent")["spec"]["template"]["spec"]
    (constraint,) = spec["topologySpreadConstraints"]
    assert constraint["topologyKey"] == "kubernetes.io/hostname"
    # DoNotSchedule would leave drained replicas Pending on a two-worker cluster.
    assert constraint["whenUnsatisfiable"] == "ScheduleAnyway"


def test_single_state_components_never_run_twice(kind_objects: Objects) -> None:
    """Faults live in the toolbox process; two toolbox pods would hold two fault states."""
    for name in ("toolbox", "redis", "prometheus"):
        spec = support.one(kind_objects, "Deployment", name)["spec"]
        assert spec["replicas"] == 1 and spec["strategy"]["type"] == "Recreate", name


# --------------------------------------------------------------------------------------------
# Security


@pytest.mark.parametrize("name", sorted(support.KUSTOMIZATIONS))
def test_every_pod_meets_the_restricted_pod_security_standard(
    rendered: dict[str, Objects], name: str
) -> None:
    """Namespaces enforce `restricted`: a pod that breaks it would be rejected at apply time."""
    for workload, template in support.pod_templates(rendered[name]):
        if workload["metadata"]["namespace"] == "kube-system":
            continue
        where = support.key(workload)
        spec = template["spec"]
        pod_sc = spec.get("securityContext", {})
        assert pod_sc.get("runAsNonRoot") is True, where
        assert pod_sc.get("seccompProfile", {}).get("type") == "RuntimeDefault", where
        assert not spec.get("hostNetwork") and not spec.get("hostPID") and not spec.get("hostIPC")
        for volume in spec.get("volumes", []):
            allowed = {"emptyDir", "configMap", "secret", "projected", "persistentVolumeClaim"}
            assert set(volume) & allowed, where
        for container in support.containers(template):
            sc = container.get("securityContext", {})
            assert sc.get("allowPrivilegeEscalation") is False, where
            assert sc.get("capabilities", {}).get("drop") == ["ALL"], where
            assert not sc.get("capabilities", {}).get("add"), where
            assert sc.get("readOnlyRootFilesystem") is True, where
            assert not sc.get("privileged"), where
            assert "limits" in container["resources"] and container["resources"]["requests"]
            assert not any(p.get("hostPort") for p in container.get("ports", [])), where
    for namespace in support.find(rendered[name], "Namespace"):
        labels = namespace["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_agent_writes_only_to_its_emptydirs(kind_objects: Objects) -> None:
    spec = support.one(kind_objects, "Deployment", "agent")["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    env = {v["name"]: v.get("value") for v in container["env"]}
    assert "/tmp" in mounts
    assert env["PROMETHEUS_MULTIPROC_DIR"] in mounts
    empty = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
    assert set(mounts.values()) <= empty


def test_service_accounts_mount_no_token_except_prometheus(rendered: dict[str, Objects]) -> None:
    for name in ("kind", "loadgen"):
        for workload, template in support.pod_templates(rendered[name]):
            if workload["metadata"]["namespace"] == "kube-system":
                continue
            spec = template["spec"]
            assert spec.get("serviceAccountName") not in (None, "default"), support.key(workload)
            wants_token = workload["metadata"]["name"] == "prometheus"
            assert spec.get("automountServiceAccountToken") is wants_token, support.key(workload)


# --------------------------------------------------------------------------------------------
# Images


def _images(objects: Objects) -> dict[str, str]:
    return {
        f"{support.key(workload)}/{container['name']}": container["image"]
        for workload, template in support.pod_templates(objects)
        for container in support.containers(template)
    }


@pytest.mark.parametrize("name", sorted(support.KUSTOMIZATIONS))
def test_every_image_is_pinned_by_a_tag_and_never_latest(
    rendered: dict[str, Objects], name: str
) -> None:
    for where, image in _images(rendered[name]).items():
        repo_tag = image.split("@")[0]
        tag = repo_tag.rsplit(":", 1)[1] if ":" in repo_tag.rsplit("/", 1)[-1] else ""
        assert tag and tag != "latest", f"{where}: {image}"


def test_kind_runs_the_image_that_kind_load_loads(kind_objects: Objects) -> None:
    ours = {w: i for w, i in _images(kind_objects).items() if i.split(":")[0] == OUR_IMAGE}
    assert {w.split("/")[-1] for w in ours} == {"agent", "toolbox"}
    assert set(ours.values()) == {kind.IMAGE}
    for workload in ("agent", "toolbox"):
        (container,) = support.one(kind_objects, "Deployment", workload)["spec"]["template"][
            "spec"
        ]["containers"]
        assert container["imagePullPolicy"] in ("IfNotPresent", "Never"), workload


def test_base_and_loadgen_run_the_package_version(rendered: dict[str, Objects]) -> None:
    ours = {i for i in _images(rendered["base"]).values() if i.split(":")[0] == OUR_IMAGE}
    assert ours == {f"{OUR_IMAGE}:{__version__}"}
    for name in ("loadgen", "chaos"):
        images = set(_images(rendered[name]).values())
        assert images == {f"{HARNESS}:{__version__}"}, name


def test_kind_loadgen_and_chaos_run_the_harness_image_kind_load_loads(
    rendered: dict[str, Objects],
) -> None:
    """The tag `stampede kind deploy` builds and loads (stampede-harness:dev), not 0.1.0."""
    assert f"{HARNESS}:dev" == kind.HARNESS_IMAGE and kind.IMAGES[kind.HARNESS_IMAGE] == "harness"
    for name in ("kind-loadgen", "kind-chaos"):
        images = _images(rendered[name])
        assert images and set(images.values()) == {kind.HARNESS_IMAGE}, name
        for workload, template in support.pod_templates(rendered[name]):
            for container in support.containers(template):
                policy = container["imagePullPolicy"]
                assert policy in ("IfNotPresent", "Never"), support.key(workload)


def test_the_chaos_job_writes_only_to_its_empty_dirs(rendered: dict[str, Objects]) -> None:
    """Chaos Toolkit's log and journal go to an emptyDir, HOME too; the root stays read-only."""
    job = support.one(rendered["chaos"], "Job", "chaos-run")
    spec = job["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    empty = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
    script = container["command"][2]
    for path in re.findall(r"--(?:log-file|journal-path) (\S+)", script):
        assert str(Path(path).parent) in mounts, path
        assert mounts[str(Path(path).parent)] in empty, path
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["HOME"] in mounts and container["workingDir"] in mounts
    assert env["CHAOSTOOLKIT_IN_POD"] == "true"
    assert env["KUBERNETES_CONTEXT"] == env["STAMPEDE_KUBE_CONTEXTS"] == "in-cluster"
    assert "--no-version-check" in script
    assert spec["restartPolicy"] == "Never" and job["spec"]["backoffLimit"] == 0
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert labels["stampede.dev/chaos-runner"] == "true"
    experiment = container["command"][3]
    assert (support.REPO / experiment.removeprefix("/app/")).exists(), experiment


def test_dockerfile_runs_as_the_uid_the_manifests_expect(kind_objects: Objects) -> None:
    dockerfile = (support.REPO / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^USER 10001:10001$", dockerfile, re.M)
    assert "ARG BASE=python:3.11-slim" in dockerfile
    assert "FROM ${BASE} AS runtime" in dockerfile
    for target in set(kind.IMAGES.values()):
        assert f"FROM runtime AS {target}" in dockerfile, target
    for workload in ("agent", "toolbox"):
        spec = support.one(kind_objects, "Deployment", workload)["spec"]["template"]["spec"]
        assert spec["securityContext"]["runAsUser"] == 10001


def test_loadgen_runs_the_projects_locustfile_against_the_agent_service(
    rendered: dict[str, Objects],
) -> None:
    objects = rendered["loadgen"]
    master = support.one(objects, "Deployment", "locust-master")["spec"]["template"]["spec"]
    worker = support.one(objects, "Deployment", "locust-worker")["spec"]["template"]["spec"]
    (m,), (w,) = master["containers"], worker["containers"]
    for container in (m, w):
        locustfile = _flag(container, "--locustfile")
        assert locustfile == "/app/loadtests/locustfile.py"
        assert locustfile is not None
        in_repo = support.REPO / Path(locustfile).relative_to("/app")
        assert in_repo.is_file(), f"{in_repo} does not exist (the image copies loadtests/ to /app)"
    host = urlparse(str(_flag(m, "--host")))
    service = support.one(rendered["base"], "Service", "agent")
    assert host.hostname == f"agent.{service['metadata']['namespace']}.svc.cluster.local"
    assert host.port == service["spec"]["ports"][0]["port"]
    master_service = support.one(objects, "Service", "locust-master")
    assert _flag(w, "--master-host") == master_service["metadata"]["name"]
    assert int(str(_flag(w, "--master-port"))) in {
        p["port"] for p in master_service["spec"]["ports"]
    }


# --------------------------------------------------------------------------------------------
# The kind cluster config


def test_kind_config_has_one_control_plane_and_two_workers(kind_config: dict[str, Any]) -> None:
    roles = [node["role"] for node in kind_config["nodes"]]
    assert roles == ["control-plane", "worker", "worker"]
    assert kind_config["name"] == kind.CLUSTER_NAME


def test_node_images_are_digest_pinned_and_match_the_validated_version(
    kind_config: dict[str, Any],
) -> None:
    images = {node["image"] for node in kind_config["nodes"]}
    assert len(images) == 1
    (image,) = images
    match = re.fullmatch(r"kindest/node:v(\d+\.\d+\.\d+)@sha256:[0-9a-f]{64}", image)
    assert match, image
    assert match.group(1) == support.KUBERNETES_VERSION


def test_every_port_mapping_listens_on_loopback_only(kind_config: dict[str, Any]) -> None:
    mappings = [m for node in kind_config["nodes"] for m in node.get("extraPortMappings", [])]
    assert mappings
    for mapping in mappings:
        assert mapping["listenAddress"] == "127.0.0.1", mapping
        assert mapping["protocol"] == "TCP"


@pytest.mark.parametrize(
    ("service", "node_port"),
    [("agent", kind.AGENT_NODE_PORT), ("toolbox-external", kind.TOOLBOX_NODE_PORT)],
)
def test_node_ports_match_the_kind_port_mappings(
    kind_objects: Objects, kind_config: dict[str, Any], service: str, node_port: int
) -> None:
    svc = support.one(kind_objects, "Service", service)
    assert svc["spec"]["type"] == "NodePort"
    assert [p["nodePort"] for p in svc["spec"]["ports"]] == [node_port]
    host_port = kind.host_port(node_port, kind_config)
    assert 1024 < host_port < 65536


def test_endpoints_use_the_mapped_host_ports(kind_config: dict[str, Any]) -> None:
    agent = kind.host_port(kind.AGENT_NODE_PORT, kind_config)
    toolbox = kind.host_port(kind.TOOLBOX_NODE_PORT, kind_config)
    assert (agent, toolbox) == (18000, 18100)


def test_only_the_kind_overlay_exposes_the_fault_api(rendered: dict[str, Objects]) -> None:
    node_ports = {
        name: sorted(
            svc["metadata"]["name"]
            for svc in support.find(objects, "Service")
            if svc["spec"].get("type") == "NodePort"
        )
        for name, objects in rendered.items()
    }
    assert node_ports == {
        "base": [],
        "kind": ["agent", "toolbox-external"],
        "loadgen": [],
        "kind-loadgen": [],
        "chaos": [],
        "kind-chaos": [],
    }


def test_the_agent_service_is_cluster_ip_in_base_and_node_port_on_kind(
    rendered: dict[str, Objects],
) -> None:
    base = support.one(rendered["base"], "Service", "agent")["spec"]
    assert base["type"] == "ClusterIP" and "nodePort" not in base["ports"][0]
    on_kind = support.one(rendered["kind"], "Service", "agent")["spec"]
    assert on_kind["type"] == "NodePort"
    assert on_kind["ports"][0]["nodePort"] == kind.AGENT_NODE_PORT


def test_dependencies_run_on_the_control_plane_in_kind(kind_objects: Objects) -> None:
    """So draining a worker (node-drain.json) disturbs agent pods only."""
    for name in ("toolbox", "redis", "prometheus"):
        spec = support.one(kind_objects, "Deployment", name)["spec"]["template"]["spec"]
        assert spec["nodeSelector"] == {"node-role.kubernetes.io/control-plane": ""}
        assert any(t["key"] == "node-role.kubernetes.io/control-plane" for t in spec["tolerations"])
    metrics = support.one(kind_objects, "Deployment", "metrics-server")["spec"]["template"]["spec"]
    assert metrics["nodeSelector"]["node-role.kubernetes.io/control-plane"] == ""
    assert any(t["key"] == "node-role.kubernetes.io/control-plane" for t in metrics["tolerations"])
    agent = support.one(kind_objects, "Deployment", "agent")["spec"]["template"]["spec"]
    assert "nodeSelector" not in agent and "tolerations" not in agent


def test_metrics_server_skips_kubelet_tls_verification_on_kind_only(
    rendered: dict[str, Objects],
) -> None:
    deployment = support.one(rendered["kind"], "Deployment", "metrics-server")
    assert deployment["metadata"]["namespace"] == "kube-system"
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert "--kubelet-insecure-tls" in container["args"]
    assert not support.find(rendered["base"], "Deployment", "metrics-server")
    assert support.one(rendered["kind"], "APIService", "v1beta1.metrics.k8s.io")


def test_cordon_annotation_is_shared_with_the_activities() -> None:
    assert actions.CORDON_ANNOTATION == kind.CORDON_ANNOTATION


# --------------------------------------------------------------------------------------------
# Experiments against the manifests


LABEL_KEYS = ("label_selector", "pod_label_selector")
NAME_FUNCS = {
    # func -> kind of the object its `name` argument refers to
    "deployment_fully_available": "Deployment",
    "deployment_available_and_healthy": "Deployment",
    "scale_deployment": "Deployment",
    "rollout_deployment": "Deployment",
    "rollout_completes_without_unavailable": "Deployment",
    "ready_replicas_at_least": "Deployment",
    "hpa_can_scale": "HorizontalPodAutoscaler",
    "hpa_scales_out_within": "HorizontalPodAutoscaler",
}


@pytest.mark.parametrize("path", sorted(support.experiments()))
def test_experiment_selectors_namespaces_and_names_exist(kind_objects: Objects, path: str) -> None:
    experiment = support.experiments()[path]
    namespaces = {ns["metadata"]["name"] for ns in support.find(kind_objects, "Namespace")}
    checked = 0
    for activity in support.activities(experiment):
        provider = activity["provider"]
        args = provider.get("arguments", {})
        namespace = args.get("ns", args.get("namespace"))
        if namespace is not None:
            assert namespace in namespaces, f"{path}: namespace {namespace!r}"
            checked += 1
        for arg in LABEL_KEYS:
            if arg in args:
                selector = support.parse_selector(args[arg])
                assert _pods_selected(kind_objects, str(namespace), selector), (
                    f"{path}: {arg} {args[arg]!r} selects no pod in {namespace}"
                )
                checked += 1
        kind_ = NAME_FUNCS.get(provider.get("func", ""))
        if kind_ is not None:
            names = {
                obj["metadata"]["name"]
                for obj in support.find(kind_objects, kind_)
                if obj["metadata"].get("namespace") == namespace
            }
            assert args["name"] in names, f"{path}: {kind_} {args['name']!r} in {namespace}"
            checked += 1
        if provider.get("type") == "http":
            url = urlparse(provider["url"])
            assert url.hostname == "127.0.0.1", f"{path}: chaos traffic goes to 127.0.0.1 only"
            assert url.port in (
                kind.host_port(kind.AGENT_NODE_PORT),
                kind.host_port(kind.TOOLBOX_NODE_PORT),
            ), f"{path}: {provider['url']}"
            checked += 1
    assert checked, f"{path} references nothing in the manifests"


@pytest.mark.parametrize("path", sorted(support.experiments()))
def test_experiment_configuration_matches_the_kind_target(path: str) -> None:
    """Defaults equal what stampede.kind deploys; env keys equal what chaos_env() sets."""
    configuration = support.experiments()[path]["configuration"]
    found = kind.Endpoints(
        context=kind.kube_context(),
        namespace=kind.NAMESPACE,
        agent_url=f"http://127.0.0.1:{kind.host_port(kind.AGENT_NODE_PORT)}",
        toolbox_url=f"http://127.0.0.1:{kind.host_port(kind.TOOLBOX_NODE_PORT)}",
        toolbox_token="t",
    )
    env = kind.chaos_env(found)
    for entry in configuration.values():
        if entry.get("key") in env and entry["key"] != "STAMPEDE_TOOLBOX_TOKEN":
            assert entry["default"] == env[entry["key"]], entry
    assert configuration["kube_context"]["key"] == "KUBERNETES_CONTEXT"
    assert configuration["kube_context"]["default"] == kind.kube_context()
    assert configuration["kube_context_allowlist"]["default"] == "kind-*"


@pytest.mark.parametrize("path", sorted(support.experiments()))
def test_the_context_guard_comes_first(path: str) -> None:
    """The guard control, and its probe first in the method and in the rollbacks (and in the
    hypothesis, where there is one) so the journal records the vetted context."""
    experiment = support.experiments()[path]
    (control,) = experiment["controls"]
    assert control["provider"]["module"] == "experiments.activities.k8s.guard", path
    sections = [experiment["method"], experiment["rollbacks"]]
    sections.append(experiment["steady-state-hypothesis"]["probes"])
    for section in sections:
        if not section:
            continue  # e.g. overload: nothing to roll back
        first = section[0]["provider"]
        assert (first.get("module"), first.get("func")) == (
            "experiments.activities.k8s.probes",
            "kube_context_allowed",
        ), path
    assert experiment["runtime"]["rollbacks"]["strategy"] == "always"


def test_profile_names_resolve_for_the_kind_target() -> None:
    """`stampede suite --target kind --profile smoke` finds an experiment file for every name."""
    for profile in ("smoke", "kind-full"):
        for name in profiles.get_profile(profile, "kind").names():
            assert (support.EXPERIMENTS / f"{name}.json").is_file(), (profile, name)
    full = set(profiles.get_profile("kind-full", "kind").names())
    assert {"hpa-scale-out", "rolling-update", "node-drain", "overload"} <= full
