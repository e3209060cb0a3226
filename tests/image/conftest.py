"""The image check's fixtures: a Docker engine, a base image, the built images, a local Redis.

`make image-check` runs these tests (``STAMPEDE_IMAGE_CHECK=1``); a plain ``pytest`` skips them,
saying so, because they build images (minutes of CPU on a shared machine). Where no engine
answers and none can be started (no dockerd, not root), every test skips with the reason.

Engine: ``$DOCKER_HOST`` or the default socket when one answers, else a private dockerd started
by tests/image/engine.sh (no bridge, no iptables; host network only) and stopped at the end.
Base: ``python:3.11-slim`` when the engine has it, else the debootstrap stand-in (engine.sh
base; the tarball is cached in ``~/.cache/stampede/``, the imported image in the engine).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from stampede import procs
from tests.k8s import support

REPO = support.REPO
ENGINE_SH = REPO / "tests" / "image" / "engine.sh"
SLIM = "python:3.11-slim"
STANDIN = "stampede-standin-base:bookworm"
IMAGES = {"agent": "stampede:dev", "harness": "stampede-harness:dev"}
AGENT_LIMIT_MB = 450  # issue 12: the agent image on python:3.11-slim
REPORT: dict[str, Any] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip the image tests unless `make image-check` asked for them."""
    if os.environ.get("STAMPEDE_IMAGE_CHECK") == "1":
        return
    skip = pytest.mark.skip(reason="builds Docker images: run `make image-check`")
    for item in items:
        if "tests/image/" in item.nodeid:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the measured figures (sizes, build times) at the end of the run."""
    if REPORT:
        terminalreporter.write_sep("-", "image check")
        terminalreporter.write_line(json.dumps(REPORT, indent=2, sort_keys=True))


def docker(
    *args: str, timeout: float = 120, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the docker CLI against the engine in $DOCKER_HOST."""
    proc = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} -> {proc.returncode}: {proc.stderr}")
    return proc


def _answers() -> bool:
    proc = subprocess.run(
        ["docker", "version", "--format", "{{.Server.Version}}"],
        capture_output=True, text=True, timeout=15, check=False,
    )  # fmt: skip
    return proc.returncode == 0


@pytest.fixture(scope="session")
def engine() -> Iterator[str]:
    """DOCKER_HOST of an engine that answers; a private one is started (and stopped) if needed."""
    if shutil.which("docker") is None:
        pytest.skip("no docker CLI on PATH: the image check needs a Docker engine")
    if os.environ.get("DOCKER_HOST") and _answers():
        yield os.environ["DOCKER_HOST"]
        return
    proc = subprocess.run(
        [str(ENGINE_SH), "start"], capture_output=True, text=True, timeout=60, check=False
    )
    if proc.returncode != 0:
        pytest.skip(f"no Docker engine answers and none could start: {proc.stderr.strip()}")
    found = dict(word.split("=", 1) for word in proc.stdout.split() if "=" in word)
    os.environ["DOCKER_HOST"] = found["DOCKER_HOST"]
    yield found["DOCKER_HOST"]
    if found.get("STAMPEDE_ENGINE_STARTED") == "1":
        subprocess.run([str(ENGINE_SH), "stop"], timeout=60, check=False)


@pytest.fixture(scope="session")
def base_image(engine: str) -> str:
    """python:3.11-slim where the engine has it, else the debootstrap stand-in (cached)."""
    if docker("image", "inspect", SLIM, check=False).returncode == 0:
        REPORT["base"] = SLIM
        return SLIM
    if docker("image", "inspect", STANDIN, check=False).returncode != 0:
        proc = subprocess.run(
            [str(ENGINE_SH), "base"], capture_output=True, text=True, timeout=900, check=False
        )
        if proc.returncode != 0:
            pytest.skip(f"no {SLIM} and no stand-in base: {proc.stderr.strip()}")
        docker("import", proc.stdout.strip(), STANDIN, timeout=300)
    REPORT["base"] = f"{STANDIN} (stand-in: {SLIM} cannot be pulled here)"
    return STANDIN


def image_size(tag: str) -> int:
    return int(docker("image", "inspect", "--format", "{{.Size}}", tag).stdout.strip())


@pytest.fixture(scope="session")
def images(base_image: str) -> dict[str, str]:
    """Build the agent and harness targets (the build cache makes an unchanged rebuild quick)."""
    for target, tag in IMAGES.items():
        started = time.monotonic()
        docker(
            "build", "--network", "host", "--build-arg", f"BASE={base_image}",
            "--target", target, "--tag", tag, str(REPO), timeout=1800,
        )  # fmt: skip
        REPORT[f"{target}_build_s"] = round(time.monotonic() - started, 1)
        REPORT[f"{target}_size_mb"] = round(image_size(tag) / 1e6, 1)
    REPORT["base_size_mb"] = round(image_size(base_image) / 1e6, 1)
    return IMAGES


@pytest.fixture(scope="session")
def rendered_kind() -> list[dict[str, Any]]:
    """The kind overlay rendered by `kubectl kustomize` (what the cluster would run)."""
    if support.kubectl() is None:
        pytest.skip("kubectl is not on PATH: cannot render the manifests to run")
    return support.render(support.KUSTOMIZATIONS["kind"])


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The project's embedded Redis on a free loopback port; yields host:port."""
    port = procs.free_port()
    proc = procs.start_redis_server(port, tmp_path_factory.mktemp("redis"))
    yield f"{procs.LOCALHOST}:{port}"
    procs.stop(proc)


@dataclass
class Container:
    """A container the image check started: its name, loopback URL and docker run arguments."""

    name: str
    url: str
    run_args: list[str] = field(default_factory=list)

    def logs(self) -> str:
        proc = docker("logs", self.name, check=False)
        return proc.stdout + proc.stderr

    def remove(self) -> None:
        docker("rm", "--force", self.name, check=False)
