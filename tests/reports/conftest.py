"""Fixtures shared by the report tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reports import browser
from tests.target_agent.agent.conftest import (  # noqa: F401  (fixtures: test_report_failed_runs)
    shared_redis,
    shared_toolbox,
    toolbox,
)


@pytest.fixture(scope="module")
def chromium() -> Iterator[browser.Browser]:
    """One headless Chromium per test module; skipped, saying why, when it is not installed."""
    if browser.chromium() is None:
        pytest.skip("chromium not installed: run make system-deps")
    with browser.Browser() as b:
        yield b
