"""Start the stacks of test_locust_stack.py early (see stacks.py); stop them at session end."""

from __future__ import annotations

import pytest

from tests.loadtests.stacks import start_stacks, stop_stacks

STACK_TESTS = "test_locust_stack.py"


def pytest_collection_finish(session: pytest.Session) -> None:
    if any(item.path.name == STACK_TESTS for item in session.items):
        start_stacks()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    stop_stacks()
