"""The stack package's public names: what the CLI, the suite, the activities and tests use."""

from __future__ import annotations

from stampede import stack

PUBLIC = {
    "AGENT_APP",
    "MARKER_ENV",
    "WEAKNESSES",
    "AgentState",
    "ProxyState",
    "RedisState",
    "StackConfig",
    "StackState",
    "ToolboxState",
    "add_worker",
    "agent_worker_pids",
    "default_state_dir",
    "down",
    "load_state",
    "remove_worker",
    "restart_agent_workers",
    "start_redis",
    "status",
    "stop_redis",
    "up",
    "wait_ready",
}


def test_the_package_exports_exactly_its_public_api() -> None:
    """``__all__`` is the documented API, and every name in it resolves."""
    assert set(stack.__all__) == PUBLIC
    assert all(getattr(stack, name) is not None for name in stack.__all__)


def test_the_docstring_lists_every_function_of_the_api() -> None:
    """The module docstring is the API's table of contents: no function is left out."""
    functions = sorted(name for name in PUBLIC if name.islower())
    assert [name for name in functions if f"``{name}(" not in (stack.__doc__ or "")] == []
