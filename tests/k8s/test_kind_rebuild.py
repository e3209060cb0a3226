"""A reused kind cluster whose agent runs other sources is rebuilt and redeployed; run.json's
target details carry the image IDs and the source digest (kind/kubectl/docker mocked)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stampede import kind
from stampede.kind import image
from stampede.targets import KindTarget


class Cluster:
    """A ready cluster whose agent Deployment carries ``deployed`` as its source annotation."""

    def __init__(self, deployed: str | None) -> None:
        self.deployed = deployed
        self.calls: list[str] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> Cluster:
        rows = {d: {"ready": 1, "desired": 1} for d in kind.DEPLOYMENTS}
        nodes = [{"name": "stampede-control-plane", "ready": True}]
        report = {"cluster": "stampede", "exists": True, "nodes": nodes, "deployments": rows}
        found = kind.Endpoints("kind-stampede", kind.NAMESPACE, "http://127.0.0.1:18000",
                               "http://127.0.0.1:18100", "token")  # fmt: skip
        monkeypatch.setattr(kind, "up", lambda name, say: False)
        monkeypatch.setattr(kind, "status", lambda name: report)
        monkeypatch.setattr(kind, "deployed_source", lambda context: self.deployed)
        monkeypatch.setattr(kind, "deploy", self.deploy)
        monkeypatch.setattr(kind, "agent_weakness", lambda context: None)
        monkeypatch.setattr(kind, "endpoints", lambda name=kind.CLUSTER_NAME: found)
        monkeypatch.setattr(kind, "image_id", lambda tag: f"sha256:{tag}")
        return self

    def deploy(self, name: str, build: bool, say: Any) -> None:
        self.calls.append(f"deploy build={build}")
        self.deployed = kind.source_digest()


def test_kind_mocked_a_cluster_running_the_current_sources_is_reused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cluster = Cluster(kind.source_digest()).install(monkeypatch)
    info = KindTarget().up(print)
    assert info.action == "reused" and cluster.calls == []
    assert info.details["image_id"] == f"sha256:{kind.IMAGE}"
    assert info.details["harness_image_id"] == f"sha256:{kind.HARNESS_IMAGE}"
    assert info.details["source_digest"] == kind.source_digest()


@pytest.mark.parametrize("deployed", ["0123456789abcdef", None])
def test_kind_mocked_a_cluster_running_other_sources_is_rebuilt(
    monkeypatch: pytest.MonkeyPatch, deployed: str | None
) -> None:
    cluster = Cluster(deployed).install(monkeypatch)
    info = KindTarget().up(print)
    assert cluster.calls == ["deploy build=True"]
    assert "built from other sources" in info.action


def test_the_source_digest_follows_the_files_the_dockerfile_copies(tmp_path: Path) -> None:
    dockerfile = (kind.REPO_ROOT / "Dockerfile").read_text(encoding="utf-8")
    for top in image.SOURCE_DIRS:
        assert f"COPY {top} ./{top}" in dockerfile, top
    for name in image.SOURCE_FILES:
        (tmp_path / name).write_text(name, encoding="utf-8")
    (tmp_path / "stampede").mkdir()
    module = tmp_path / "stampede" / "x.py"
    module.write_text("a = 1\n", encoding="utf-8")
    before = image.source_digest(tmp_path)
    (tmp_path / "stampede" / "__pycache__").mkdir()
    (tmp_path / "stampede" / "__pycache__" / "x.pyc").write_bytes(b"junk")
    assert image.source_digest(tmp_path) == before, "bytecode is not a source"
    module.write_text("a = 2\n", encoding="utf-8")
    assert image.source_digest(tmp_path) != before
