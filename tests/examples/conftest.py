"""The helpdesk's fake LLM and tools as real processes, one pair per test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stampede import procs
from tests.examples.support import Service, start_llm, start_tools


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("helpdesk")


@pytest.fixture(scope="module")
def llm(logs: Path) -> Iterator[Service]:
    service = start_llm(logs)
    yield service
    procs.stop(service.proc)


@pytest.fixture(scope="module")
def tools(logs: Path) -> Iterator[Service]:
    service = start_tools(logs)
    yield service
    procs.stop(service.proc)
