"""Fixtures shared by the report tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reports import browser


@pytest.fixture(scope="module")
def chromium() -> Iterator[browser.Browser]:
    """One headless Chromium per test module; skipped, saying why, when it is not installed."""
    if browser.chromium() is None:
        pytest.skip("chromium not installed: run make system-deps")
    with browser.Browser() as b:
        yield b
