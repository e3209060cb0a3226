"""`stampede kind ...` against fake `kind`/`docker`/`kubectl` executables on PATH.

The fakes are real processes (a small Python script under three names) that record their argv
and stdin and answer like the real tools would in the situation a test sets up. That checks
the shell-outs stampede.kind makes, in order, and the one-line errors when a tool is missing,
without a Docker engine.
"""

from __future__ import annotations

import base64
import inspect
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from stampede import kind
from stampede.errors import InputError
from stampede.targets.base import Target
from stampede.targets.kind import KindTarget, suite_target
from tests.k8s import support

FAKE = r"""
import json, os, sys
tool = os.path.basename(sys.argv[0])
args = sys.argv[1:]
stdin = "" if sys.stdin.isatty() else sys.stdin.read()
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps({"tool": tool, "args": args, "stdin": stdin}) + "\n")
env = os.environ.get
if tool == "docker":
    if args[:1] == ["info"]:
        if env("FAKE_DOCKER_DOWN"):
            sys.stderr.write("Cannot connect to the Docker daemon at unix:///var/run/docker.sock.\n")
            sys.exit(1)
        print("29.0.0")
    sys.exit(0)
if tool == "kind":
    if args[:2] == ["get", "clusters"]:
        print(env("FAKE_CLUSTERS", ""))
    if args[:2] == ["load", "docker-image"] and env("FAKE_LOAD_FAILS"):
        sys.stderr.write("ERROR: failed to load image: command failed: ctr images import: "
                         "content digest sha256:0: not found\n")
        sys.exit(1)
    sys.exit(0)
if tool == "kubectl":
    rest = args[2:] if args[:1] == ["--context"] else args
    if "--namespace" in rest:
        i = rest.index("--namespace"); rest = rest[:i] + rest[i + 2:]
    if rest[:2] == ["get", "secret"]:
        stored = json.loads(env("FAKE_SECRETS", "{}"))  # name -> base64 value of its one key
        if rest[2] in stored:
            print(stored[rest[2]], end="")
            sys.exit(0)
        print(f'Error from server (NotFound): secrets "{rest[2]}" not found', file=sys.stderr)
        sys.exit(1)
    if rest[:2] == ["get", "deployments"]:
        print(env("FAKE_DEPLOYMENTS", ""), end="")
        sys.exit(0)
    if rest[:2] == ["rollout", "status"] and rest[2] == env("FAKE_STUCK", "-"):
        print("error: timed out waiting for the condition", file=sys.stderr)
        sys.exit(1)
    sys.exit(0)
"""


class Fakes:
    def __init__(self, tmp_path: Path, tools: tuple[str, ...]) -> None:
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        self.log = tmp_path / "calls.jsonl"
        self.log.touch()
        script = f"#!{sys.executable}\n{FAKE}"
        for tool in tools:
            path = self.bin / tool
            path.write_text(script, encoding="utf-8")
            path.chmod(0o755)
        self.env = {"PATH": str(self.bin), "FAKE_LOG": str(self.log), "HOME": str(tmp_path)}

    def stampede(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "stampede.cli", "kind", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=support.REPO,
            env={**self.env, **env, "PYTHONPATH": str(support.REPO)},
        )

    def calls(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def argv(self) -> list[list[str]]:
        return [[c["tool"], *c["args"]] for c in self.calls()]


def fakes(tmp_path: Path, *tools: str) -> Fakes:
    return Fakes(tmp_path, tools or ("kind", "docker", "kubectl"))


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("stampede: error: ")
    return lines[0]


# --------------------------------------------------------------------------------------------
# Missing tools and a stopped Docker engine


@pytest.mark.parametrize(
    ("present", "command", "missing", "hint"),
    [
        ((), "up", "kind", "https://kind.sigs.k8s.io/docs/user/quick-start/#installation"),
        (("kind",), "up", "kubectl", "https://kubernetes.io/docs/tasks/tools/"),
        (("kind", "kubectl"), "up", "docker", "https://docs.docker.com/get-docker/"),
        (("kind", "kubectl"), "deploy", "docker", "https://docs.docker.com/get-docker/"),
        ((), "down", "kind", "install kind"),
        ((), "status", "kind", "install kind"),
    ],
)
def test_a_missing_tool_is_one_line_naming_what_to_install(
    tmp_path: Path, present: tuple[str, ...], command: str, missing: str, hint: str
) -> None:
    fake = Fakes(tmp_path, present)
    line = one_line_error(fake.stampede(command))
    assert f"`{missing}` not found on PATH" in line and hint in line


def test_a_stopped_docker_engine_is_one_line_saying_so(tmp_path: Path) -> None:
    fake = fakes(tmp_path)
    line = one_line_error(fake.stampede("up", FAKE_DOCKER_DOWN="1"))
    assert "Docker engine is not running" in line and "Cannot connect to the Docker daemon" in line
    assert ["kind", "create", "cluster"] not in [a[:3] for a in fake.argv()]


def test_docker_engine_problem_names_a_stopped_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = fakes(tmp_path, "docker")
    monkeypatch.setenv("PATH", str(fake.bin))
    monkeypatch.setenv("FAKE_LOG", str(fake.log))
    assert kind.docker_engine_problem() is None
    monkeypatch.setenv("FAKE_DOCKER_DOWN", "1")
    assert "not running" in str(kind.docker_engine_problem())
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    assert "`docker` not found" in str(kind.docker_engine_problem())


# --------------------------------------------------------------------------------------------
# up / down


def test_up_creates_the_cluster_from_the_repository_config(tmp_path: Path) -> None:
    fake = fakes(tmp_path)
    proc = fake.stampede("up")
    assert proc.returncode == 0, proc.stderr
    assert [
        "kind",
        "create",
        "cluster",
        "--name",
        "stampede",
        "--config",
        str(support.KIND_CONFIG),
        "--wait",
        "300s",
    ] in fake.argv()


def test_up_leaves_an_existing_cluster_alone(tmp_path: Path) -> None:
    fake = fakes(tmp_path)
    proc = fake.stampede("up", FAKE_CLUSTERS="other\nstampede")
    assert proc.returncode == 0, proc.stderr
    assert "already exists" in proc.stdout
    assert not [a for a in fake.argv() if a[:3] == ["kind", "create", "cluster"]]


def test_down_deletes_only_the_named_cluster(tmp_path: Path) -> None:
    fake = fakes(tmp_path)
    assert fake.stampede("down", FAKE_CLUSTERS="stampede").returncode == 0
    assert ["kind", "delete", "cluster", "--name", "stampede"] in fake.argv()
    fake.log.write_text("")
    assert fake.stampede("down", FAKE_CLUSTERS="other").returncode == 0
    assert not [a for a in fake.argv() if a[:2] == ["kind", "delete"]]


# --------------------------------------------------------------------------------------------
# deploy


def test_kind_load_falls_back_to_an_image_archive(tmp_path: Path) -> None:
    """`kind load docker-image` fails with Docker's containerd image store (kind issue 3795)."""
    fake = fakes(tmp_path)
    proc = fake.stampede("deploy", FAKE_CLUSTERS="stampede", FAKE_LOAD_FAILS="1")
    assert proc.returncode == 0, proc.stderr
    argv = fake.argv()
    for tag in kind.IMAGES:
        saved = [a for a in argv if a[:2] == ["docker", "save"] and a[-1] == tag]
        assert len(saved) == 1, argv
        archive = saved[0][3]
        assert ["kind", "load", "image-archive", archive, "--name", "stampede"] in argv
    assert "retrying via docker save" in proc.stdout + proc.stderr


def test_deploy_builds_loads_applies_and_waits_in_order(tmp_path: Path) -> None:
    fake = fakes(tmp_path)
    proc = fake.stampede("deploy", FAKE_CLUSTERS="stampede")
    assert proc.returncode == 0, proc.stderr
    argv = fake.argv()
    steps = [
        a[:3]
        if a[0] != "kubectl"
        else ["kubectl", *[x for x in a[3:] if not x.startswith("-")][:2]]
        for a in argv
        if a[:2] != ["docker", "info"] and a[:3] != ["kind", "get", "clusters"]
    ]
    assert steps[:4] == [
        ["docker", "build", "--target"],
        ["docker", "build", "--target"],
        ["kind", "load", "docker-image"],
        ["kind", "load", "docker-image"],
    ]
    digest = kind.source_digest()
    for tag, target in kind.IMAGES.items():
        assert [
            "docker", "build", "--target", target, "--tag", tag,
            "--label", f"dev.stampede.source={digest}",
            "--file", str(support.REPO / "Dockerfile"), str(support.REPO),
        ] in argv  # fmt: skip
        assert ["kind", "load", "docker-image", tag, "--name", "stampede"] in argv
    # The agent Deployment records the sources it now runs (a reused cluster is checked).
    annotate = [a for a in argv if "annotate" in a]
    assert annotate and annotate[-1][-1] == f"stampede.dev/source={digest}"
    kubectl_calls = [a for a in argv if a[0] == "kubectl"]
    assert all(a[1:3] == ["--context", "kind-stampede"] for a in kubectl_calls), kubectl_calls
    assert [
        "kubectl",
        "--context",
        "kind-stampede",
        "apply",
        "--kustomize",
        str(kind.KIND_OVERLAY),
    ] in argv
    rollouts = [a[-2] for a in kubectl_calls if "rollout" in a and "status" in a]
    assert rollouts == [
        "deployment/metrics-server",
        "statefulset/postgres",  # before the agent, whose workers open the checkpointer
        "deployment/redis",
        "deployment/toolbox",
        "deployment/prometheus",
        "deployment/agent",
    ]
    assert not [a for a in kubectl_calls if "restart" in a], "nothing ran before: no restart"
    assert "agent:   http://127.0.0.1:18000" in proc.stdout


def _applied_secrets(fake: Fakes) -> dict[str, dict[str, str]]:
    """``{name: stringData}`` of every Secret sent to ``kubectl apply -f -``."""
    applied = [json.loads(c["stdin"]) for c in fake.calls() if c["stdin"].strip()]
    return {d["metadata"]["name"]: d["stringData"] for d in applied if d["kind"] == "Secret"}


def test_deploy_creates_random_secrets_without_putting_them_in_argv(tmp_path: Path) -> None:
    """The toolbox token and the checkpoint database's password: random, URL-safe, on stdin."""
    fake = fakes(tmp_path)
    assert fake.stampede("deploy", "--no-build", FAKE_CLUSTERS="stampede").returncode == 0
    secrets = _applied_secrets(fake)
    assert secrets.keys() == {kind.TOOLBOX_SECRET, kind.CHECKPOINT_SECRET}
    assert set(secrets[kind.TOOLBOX_SECRET]) == {kind.TOOLBOX_SECRET_KEY}
    assert set(secrets[kind.CHECKPOINT_SECRET]) == {kind.CHECKPOINT_SECRET_KEY}
    values = [value for data in secrets.values() for value in data.values()]
    assert len(set(values)) == 2, "each Secret gets its own random value"
    for value in values:
        # The password goes into the agent's DSN by $(VAR) expansion: it must need no escaping.
        assert len(value) >= 24 and re.fullmatch(r"[A-Za-z0-9_-]+", value), value
        assert all(value not in " ".join(a) for a in fake.argv())
    calls = fake.calls()
    kinds = [json.loads(c["stdin"])["kind"] for c in calls if c["stdin"].strip()]
    assert kinds == ["Namespace", "Secret", "Secret"]
    last_secret = max(i for i, c in enumerate(calls) if '"Secret"' in c["stdin"])
    apply_k = next(i for i, c in enumerate(calls) if "--kustomize" in c["args"])
    assert last_secret < apply_k, "the pods that read the Secrets start after they exist"
    assert not [a for a in fake.argv() if a[:2] == ["docker", "build"]]


@pytest.mark.parametrize(
    ("existing", "created"),
    [
        ((), {kind.TOOLBOX_SECRET, kind.CHECKPOINT_SECRET}),
        ((kind.TOOLBOX_SECRET,), {kind.CHECKPOINT_SECRET}),
        ((kind.TOOLBOX_SECRET, kind.CHECKPOINT_SECRET), set()),
    ],
    ids=["none", "toolbox-only", "both"],
)
def test_deploy_keeps_existing_secrets_and_creates_only_the_missing_ones(
    tmp_path: Path, existing: tuple[str, ...], created: set[str]
) -> None:
    """A kept password matters: PostgreSQL sets it once, when it initialises its volume."""
    fake = fakes(tmp_path)
    stored = {name: base64.b64encode(f"kept-{name}".encode()).decode() for name in existing}
    proc = fake.stampede(
        "deploy", "--no-build", FAKE_CLUSTERS="stampede", FAKE_SECRETS=json.dumps(stored)
    )
    assert proc.returncode == 0, proc.stderr
    assert set(_applied_secrets(fake)) == created


def test_deploy_restarts_what_ran_the_old_image(tmp_path: Path) -> None:
    fake = fakes(tmp_path)
    stored = {name: base64.b64encode(b"kept").decode() for name, _ in kind.GENERATED_SECRETS}
    proc = fake.stampede(
        "deploy",
        FAKE_CLUSTERS="stampede",
        FAKE_SECRETS=json.dumps(stored),
        FAKE_DEPLOYMENTS="agent prometheus redis toolbox",
    )
    assert proc.returncode == 0, proc.stderr
    assert not _applied_secrets(fake)
    restarts = [a[-1] for a in fake.argv() if "restart" in a]
    assert restarts == ["deployment/agent", "deployment/toolbox"], "postgres is not our image"


def test_deploy_without_a_cluster_says_run_up_first(tmp_path: Path) -> None:
    line = one_line_error(fakes(tmp_path).stampede("deploy"))
    assert "no kind cluster named 'stampede': run `stampede kind up` first" in line


@pytest.mark.parametrize("stuck", ["deployment/agent", "statefulset/postgres"])
def test_a_stuck_rollout_is_one_line_naming_the_workload(tmp_path: Path, stuck: str) -> None:
    fake = fakes(tmp_path)
    line = one_line_error(fake.stampede("deploy", FAKE_CLUSTERS="stampede", FAKE_STUCK=stuck))
    resource, name = stuck.split("/")
    assert f"{resource} stampede/{name} did not roll out within 300 s" in line
    assert "timed out waiting for the condition" in line
    assert f"kubectl --context kind-stampede -n stampede describe {stuck}" in line


def test_status_without_a_cluster_says_so(tmp_path: Path) -> None:
    proc = fakes(tmp_path).stampede("status")
    assert proc.returncode == 1
    assert "not created (run `stampede kind up`)" in proc.stdout


# --------------------------------------------------------------------------------------------
# Library pieces


def test_kubectl_refuses_a_context_that_is_not_kind() -> None:
    with pytest.raises(InputError, match="only drives kind contexts"):
        kind.kubectl("prod-eu", "get", "nodes")


def test_host_port_of_an_unmapped_node_port_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no extraPortMappings entry for nodePort 31999"):
        kind.host_port(31999)


def test_a_malformed_kind_config_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "kind.yaml"
    bad.write_text("kind: Cluster\nnodes: [\n")
    with pytest.raises(InputError, match=rf"{re.escape(str(bad))}(:\d+)?: not valid YAML"):
        kind.load_kind_config(bad)


def test_chaos_env_carries_context_urls_and_token() -> None:
    found = kind.Endpoints("kind-stampede", "stampede", "http://127.0.0.1:18000", "http://x", "tok")
    env = kind.chaos_env(found)
    assert env["KUBERNETES_CONTEXT"] == "kind-stampede"
    assert env["STAMPEDE_TOOLBOX_TOKEN"] == "tok"
    assert "tok" not in repr(found)


def test_suite_target_has_every_method_of_the_suite_protocol() -> None:
    target = suite_target(weakness="no_retries")
    assert target.name == "kind" and target.weakness == "no_retries"
    wanted = {
        name
        for name, member in vars(Target).items()
        if inspect.isfunction(member) and not name.startswith("_")
    }
    assert wanted, "stampede.targets.base.Target lists no methods"
    for name in wanted:
        ours = inspect.signature(getattr(KindTarget, name))
        theirs = inspect.signature(getattr(Target, name))
        assert list(ours.parameters) == list(theirs.parameters), name
