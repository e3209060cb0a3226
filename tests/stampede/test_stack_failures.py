"""`up` failing, half-dead stacks, orphaned workers and worker signals.

The real agent is only started where its own behaviour matters (its settings rejecting a
weakness); the rest runs the stack with a trivial ASGI app as the agent, which exercises the
same launcher, state file and signals at a fraction of the start-up cost.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from stampede import stack
from stampede.errors import HarnessError
from tests.stampede.helpers import REPO, stack_processes, wait_until

TINY_APP = "tests.stampede.tiny_app:app"

pytestmark = pytest.mark.timeout(180)


def test_up_fails_with_the_log_tail_when_the_agent_dies_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    """The agent's settings reject AGENT_WEAKNESS=bogus: its start-up fails, up says why."""
    config = stack.StackConfig(state_dir=tmp_path, workers=1, env={"AGENT_WEAKNESS": "bogus"})
    with pytest.raises(HarnessError) as info:
        stack.up(config)
    message = str(info.value)
    assert message.startswith("agent (pid ")
    assert "exited during start-up" in message
    assert str(tmp_path / "logs" / "agent.log") in message
    assert "bogus" in message, "the log tail names the rejected value"
    assert not (tmp_path / "stack.json").exists()
    assert stack_processes(tmp_path) == []


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[stack.StackConfig]:
    """A stack config whose agent is the trivial app; the stack is downed after the test."""
    monkeypatch.chdir(REPO)  # the app is imported from the current directory
    config = stack.StackConfig(state_dir=tmp_path / "stack", agent_app=TINY_APP, workers=2)
    try:
        yield config
    finally:
        stack.down(config.state_dir)
        assert stack_processes(config.state_dir) == []


def test_up_replaces_a_half_dead_stack_and_down_stops_orphaned_workers(
    tiny: stack.StackConfig,
) -> None:
    first = stack.up(tiny)
    assert first.toolbox.proc.send_signal(signal.SIGKILL)  # crash
    wait_until(lambda: not first.toolbox.proc.alive(), 5, "the toolbox is dead")
    assert stack.status(tiny.state_dir)["all_up"] is False

    second = stack.up(tiny)  # no --restart: a half-dead stack is replaced
    assert stack.status(tiny.state_dir)["all_up"]
    assert second.started_at != first.started_at
    assert not first.agent.proc.alive() and not first.redis.proc.alive()

    workers = stack.agent_worker_pids(second)
    assert len(workers) == 2
    assert second.agent.proc.send_signal(signal.SIGKILL)  # the master dies, its workers stay
    wait_until(lambda: not second.agent.proc.alive(), 5, "the agent master is dead")
    assert set(workers) <= set(stack_processes(tiny.state_dir)), "orphaned workers run"
    stack.down(tiny.state_dir)
    assert stack_processes(tiny.state_dir) == []


def test_worker_signals_resize_and_restart_the_agent(tiny: stack.StackConfig) -> None:
    state = stack.up(tiny)
    before = stack.agent_worker_pids(state)

    grown = stack.add_worker(state)
    assert grown.agent.workers == 3 and stack.load_state(state.path).agent.workers == 3
    wait_until(lambda: len(stack.agent_worker_pids(state)) == 3, 10, "a third worker")

    shrunk = stack.remove_worker(grown)
    assert shrunk.agent.workers == 2
    wait_until(lambda: len(stack.agent_worker_pids(state)) == 2, 10, "back to two workers")

    stack.restart_agent_workers(shrunk)
    wait_until(
        lambda: (
            not set(before) & set(stack.agent_worker_pids(state))
            and len(stack.agent_worker_pids(state)) == 2
        ),
        30,
        "both workers replaced",
    )
    stack.wait_ready(shrunk, timeout_s=30)
