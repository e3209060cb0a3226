"""stack.json: written atomically, read strictly, errors name the file and the problem."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stampede import stack
from stampede.errors import InputError


def _complete(tmp_path: Path) -> dict[str, Any]:
    return {
        "version": 1,
        "started_at": 1700000000.0,
        "admin_token": "t0k",
        "redis": {
            "pid": 1,
            "create_time": 0.0,
            "host": "127.0.0.1",
            "port": 6390,
            "url": "redis://127.0.0.1:6390/0",
            "executable": "/usr/bin/redis-server",
            "log": str(tmp_path / "logs/redis.log"),
        },
        "toolbox": {
            "pid": 2,
            "create_time": 0.0,
            "port": 8100,
            "url": "http://127.0.0.1:8100",
            "log": str(tmp_path / "logs/toolbox.log"),
        },
        "agent": {
            "pid": 3,
            "create_time": 0.0,
            "port": 8000,
            "url": "http://127.0.0.1:8000",
            "workers": 2,
            "weakness": None,
            "env": {"AGENT_REPLICA": "local"},
            "log": str(tmp_path / "logs/agent.log"),
        },
    }


def test_load_state_reads_the_contract_example(tmp_path: Path) -> None:
    path = tmp_path / "stack.json"
    path.write_text(json.dumps(_complete(tmp_path)))
    state = stack.load_state(path)
    assert state.path == path
    assert (state.redis.port, state.toolbox.port, state.agent.port) == (6390, 8100, 8000)
    assert state.agent.proc.pid == 3
    assert "t0k" not in repr(state)


def test_load_state_defaults_to_the_env_var(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "elsewhere.json"
    path.write_text(json.dumps(_complete(tmp_path)))
    monkeypatch.setenv("STAMPEDE_STACK_STATE", str(path))
    assert stack.load_state("").path == path


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "no local stack state"),
        ("{not json", "not JSON (line 1"),
        ('{"version": 1, "started_at": 1.0}', "admin_token: Field required"),
        ('{"version": 2, "started_at": 1.0, "admin_token": "x"}', "version: Input should be 1"),
        ('{"version": 1, "started_at": 1.0, "admin_token": "x"}', "incomplete stack state"),
    ],
    ids=["missing", "not-json", "missing-field", "wrong-version", "incomplete"],
)
def test_load_state_names_file_and_problem(
    tmp_path: Path, content: str | None, problem: str
) -> None:
    path = tmp_path / "stack.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputError) as info:
        stack.load_state(path)
    assert str(info.value).startswith(f"{path}: ")
    assert problem in str(info.value)


def test_a_wrongly_typed_port_is_named(tmp_path: Path) -> None:
    data = _complete(tmp_path)
    data["agent"]["port"] = "eight thousand"
    path = tmp_path / "stack.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=r"agent\.port: Input should be a valid integer"):
        stack.load_state(path)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (stack.StackConfig(workers=0), "--workers: 0"),
        (stack.StackConfig(agent_port=70000), "--agent-port: 70000"),
        (stack.StackConfig(agent_port=8000, redis_port=8000), "ports must differ"),
        (stack.StackConfig(weakness="bogus"), "unknown weakness 'bogus'"),
        (stack.StackConfig(env={"A=B": "c"}), "--env: 'A=B'"),
    ],
    ids=["workers", "port-range", "same-port", "weakness", "env-key"],
)
def test_bad_config_is_input_error(config: stack.StackConfig, message: str) -> None:
    with pytest.raises(InputError, match=message):
        config.validate()
