"""The stack's shutdown timeouts follow the agent's settings: deadline + flush < graceful < kill."""

from __future__ import annotations

from pathlib import Path

import pytest

from stampede.errors import InputError
from stampede.stack import StackConfig, components
from stampede.stack.shutdown import agent_settings, shutdown_budget
from stampede.stack.state import Draft
from stampede.stack.stopping import agent_stop_timeout_s
from tests.stampede.helpers import write_dead_stack


def _graceful_option(config: StackConfig) -> int:
    options = components._uvicorn_options(config)
    return int(options[options.index("--timeout-graceful-shutdown") + 1])


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"AGENT_DEADLINE_S": "30"},
        {"AGENT_SHUTDOWN_FLUSH_S": "12.5"},
        {"AGENT_DEADLINE_S": "1.5", "AGENT_LLM_TIMEOUT_S": "1"},
    ],
    ids=["defaults", "long-deadline", "long-flush", "short-deadline"],
)
def test_graceful_shutdown_outlasts_a_request_and_the_flush_and_the_kill_outlasts_both(
    env: dict[str, str],
) -> None:
    settings = agent_settings(env)
    budget = shutdown_budget(env)
    assert budget.graceful_s > settings.deadline_s + settings.shutdown_flush_s
    assert budget.stop_s > budget.graceful_s + settings.shutdown_flush_s
    assert _graceful_option(StackConfig(env=env)) == budget.graceful_s


def test_the_harness_environment_counts_like_the_agents(monkeypatch: pytest.MonkeyPatch) -> None:
    """The agent inherits this environment, so an AGENT_DEADLINE_S here lengthens the drain."""
    monkeypatch.setenv("AGENT_DEADLINE_S", "40")
    assert shutdown_budget().graceful_s > 40 + agent_settings({}).shutdown_flush_s


def test_an_explicit_graceful_shutdown_raises_it_but_never_below_what_the_agent_needs() -> None:
    needed = shutdown_budget().graceful_s
    assert _graceful_option(StackConfig(graceful_shutdown_s=needed + 50)) == needed + 50
    assert _graceful_option(StackConfig(graceful_shutdown_s=1)) == needed


def test_a_bad_agent_setting_is_an_input_error_naming_the_variable() -> None:
    with pytest.raises(InputError, match="AGENT_DEADLINE_S: Input should be a valid number"):
        shutdown_budget({"AGENT_DEADLINE_S": "soon"})


def test_up_leaves_a_bad_agent_setting_to_the_agent_and_uses_its_defaults() -> None:
    """The agent refuses to start and its log says why (test_stack_failures); another
    ``--agent-app`` may mean something else by AGENT_*: neither blocks the uvicorn options."""
    bad = {"AGENT_WEAKNESS": "bogus"}
    assert shutdown_budget(bad, lenient=True) == shutdown_budget()
    assert _graceful_option(StackConfig(env=bad)) == shutdown_budget().graceful_s


def test_down_waits_for_the_recorded_agents_budget(tmp_path: Path) -> None:
    """``down`` reads the agent's environment from stack.json: its stop timeout follows it."""
    payload = write_dead_stack(tmp_path)
    payload["agent"]["env"] = {"AGENT_DEADLINE_S": "60"}
    draft = Draft.model_validate(payload)
    assert agent_stop_timeout_s(draft) == shutdown_budget({"AGENT_DEADLINE_S": "60"}).stop_s
    payload["agent"]["env"] = {"AGENT_DEADLINE_S": "never"}  # from elsewhere: the defaults
    assert agent_stop_timeout_s(Draft.model_validate(payload)) == shutdown_budget().stop_s
