"""Documentation stays inside the repository: no pointer outside it, no dead relative link."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTSIDE = re.compile(r"\.\./shared|DESIGN\.md")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _tracked(*patterns: str) -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", *patterns],
        cwd=ROOT, capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip
    return [ROOT / line for line in out.splitlines() if (ROOT / line).is_file()]


def test_nothing_points_outside_the_repository() -> None:
    """README, docs and docstrings name docs/architecture.md, never a file outside the repo."""
    hits = []
    for path in _tracked("*.md", "*.py", "*.json", "*.yaml", "*.yml", "Makefile"):
        if path == Path(__file__):
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if OUTSIDE.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not hits, "\n".join(hits)


def test_relative_links_in_markdown_resolve() -> None:
    """Every relative link in a tracked Markdown file names a file or directory that exists."""
    dead = []
    for path in _tracked("*.md"):
        for target in LINK.findall(path.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (path.parent / target).exists():
                dead.append(f"{path.relative_to(ROOT)}: {target}")
    assert not dead, "\n".join(dead)


def test_architecture_doc_names_every_stampede_package() -> None:
    """docs/architecture.md has a row for every sub-package of stampede/ and every top package."""
    doc = (ROOT / "docs" / "architecture.md").read_text()
    packages = [p.name for p in (ROOT / "stampede").iterdir() if (p / "__init__.py").is_file()]
    missing = [f"stampede/{name}/" for name in packages if f"stampede/{name}/" not in doc]
    for top in ("target_agent/", "loadtests/", "experiments/", "reports/", "faults/"):
        if top not in doc:
            missing.append(top)
    assert not missing, missing
