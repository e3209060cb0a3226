"""The images on kind: build (agent + harness targets), load with a fallback, know when stale.

* ``source_digest`` hashes what the Dockerfile copies (the packages, pyproject.toml, README.md,
  the Dockerfile); builds carry it as the label ``dev.stampede.source``, and ``deploy`` writes it
  on the agent Deployment as annotation ``stampede.dev/source`` — so a reused cluster whose
  agent was deployed from other sources is rebuilt and redeployed (``deployed_source``).
* ``load_image`` runs ``kind load docker-image``; where that fails (Docker's containerd image
  store, kind issue 3795) it falls back to ``docker save`` + ``kind load image-archive``.
* ``image_id`` is the local image ID, recorded in run.json by the kind target.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from stampede.errors import HarnessError
from stampede.kind.layout import (
    AGENT,
    BUILD_TIMEOUT_S,
    CLUSTER_NAME,
    IMAGES,
    LOAD_TIMEOUT_S,
    NAMESPACE,
    REPO_ROOT,
    SOURCE_ANNOTATION,
    SOURCE_LABEL,
)
from stampede.kind.tools import Say, kubectl, quiet, run, tail

# What the Dockerfile COPYs (keep in step with it; tests/k8s checks they agree).
SOURCE_DIRS = ("stampede", "target_agent", "reports", "loadtests", "experiments", "faults")
SOURCE_FILES = ("Dockerfile", "pyproject.toml", "README.md")


def _source_files(root: Path) -> list[Path]:
    files = [root / name for name in SOURCE_FILES]
    for top in SOURCE_DIRS:
        files += [
            p
            for p in (root / top).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
        ]
    return sorted(files)


def source_digest(root: Path = REPO_ROOT) -> str:
    """sha256 (first 16 hex digits) over the paths and contents of the image's sources."""
    digest = hashlib.sha256()
    for path in _source_files(root):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() if path.exists() else b"<missing>")
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def build_image(tag: str, target: str, digest: str, root: Path = REPO_ROOT) -> None:
    """``docker build --target <target> --tag <tag>``, labelled with the source digest."""
    run(
        ["docker", "build", "--target", target, "--tag", tag,
         "--label", f"{SOURCE_LABEL}={digest}", "--file", str(root / "Dockerfile"), str(root)],
        timeout_s=BUILD_TIMEOUT_S,
    )  # fmt: skip


def build_images(digest: str, root: Path = REPO_ROOT, say: Say = quiet) -> None:
    """Build every image of ``IMAGES`` (agent, harness)."""
    for tag, target in IMAGES.items():
        say(f"building image {tag} (docker build --target {target})")
        build_image(tag, target, digest, root)


def load_image(tag: str, name: str = CLUSTER_NAME, say: Say = quiet) -> None:
    """Copy a local image into every node: ``kind load docker-image``, else via an archive."""
    try:
        run(["kind", "load", "docker-image", tag, "--name", name], timeout_s=LOAD_TIMEOUT_S)
        return
    except HarnessError as exc:
        say(f"kind load docker-image {tag} failed ({tail(str(exc), 1)}); retrying via docker save")
    with tempfile.TemporaryDirectory(prefix="stampede-image-") as tmp:
        archive = str(Path(tmp) / "image.tar")
        run(["docker", "save", "--output", archive, tag], timeout_s=LOAD_TIMEOUT_S)
        run(["kind", "load", "image-archive", archive, "--name", name], timeout_s=LOAD_TIMEOUT_S)


def image_id(tag: str) -> str | None:
    """The local image ID of ``tag`` (``sha256:...``), None when there is no such image."""
    try:
        proc = run(["docker", "image", "inspect", "--format", "{{.Id}}", tag], timeout_s=30)
    except HarnessError:
        return None
    return proc.stdout.strip() or None


def deployed_source(context: str, namespace: str = NAMESPACE) -> str | None:
    """The source digest the agent Deployment was deployed from (None: unknown or absent)."""
    key = SOURCE_ANNOTATION.replace(".", "\\.").replace("/", "\\/")
    proc = kubectl(
        context, "--namespace", namespace, "get", f"deployment/{AGENT}",
        "--output", f"jsonpath={{.metadata.annotations.{key}}}", check=False,
    )  # fmt: skip
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def mark_deployed(context: str, digest: str, namespace: str = NAMESPACE) -> None:
    """Record on the agent Deployment which sources it now runs."""
    kubectl(
        context, "--namespace", namespace, "annotate", "--overwrite", f"deployment/{AGENT}",
        f"{SOURCE_ANNOTATION}={digest}",
    )  # fmt: skip
