"""`down` stops what was started by PID + create_time, whatever state the stack is in."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import psutil
import pytest

from stampede import procs, stack
from stampede.errors import InputError
from tests.stampede.helpers import dead_process, wait_until


def _state(tmp_path: Path, **components: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {"version": 1, "started_at": 1700000000.5, "admin_token": "x"}
    log = str(tmp_path / "x.log")
    pid, create_time = dead_process()
    defaults: dict[str, dict[str, Any]] = {
        "redis": {"port": 1, "url": "redis://127.0.0.1:1/0", "executable": "redis-server"},
        "toolbox": {"port": 2, "url": "http://127.0.0.1:2"},
        "agent": {"port": 3, "url": "http://127.0.0.1:3", "workers": 2, "weakness": None},
    }
    for name, fields in defaults.items():
        data[name] = {"pid": pid, "create_time": create_time, "log": log, **fields}
        data[name].update(components.get(name, {}))
    return data


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "stack.json"
    path.write_text(json.dumps(data))
    return path


def test_down_without_a_state_file_does_nothing(tmp_path: Path) -> None:
    stack.down(tmp_path)
    assert not (tmp_path / "stack.json").exists()


def test_down_with_a_stale_state_file_removes_it(tmp_path: Path) -> None:
    """Every recorded pid is dead: nothing to signal, the state file goes."""
    path = _write(tmp_path, _state(tmp_path))
    stack.down(tmp_path)
    assert not path.exists()


def test_down_never_signals_a_recycled_pid(tmp_path: Path) -> None:
    """The toolbox pid now belongs to an unrelated process (other create_time): it survives."""
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        real = psutil.Process(sleeper.pid).create_time()
        data = _state(tmp_path, toolbox={"pid": sleeper.pid, "create_time": real - 500.0})
        path = _write(tmp_path, data)
        stack.down(tmp_path)
        assert not path.exists()
        assert sleeper.poll() is None, "down signalled a process it did not start"
    finally:
        sleeper.kill()
        sleeper.wait()


def test_down_after_a_crash_mid_up_stops_what_was_started(tmp_path: Path) -> None:
    """stack.json written as each process is spawned: a Redis-only draft is enough to stop it."""
    port = procs.free_port()
    redis = procs.start_redis_server(port, tmp_path)
    try:
        data = _state(tmp_path, redis={"pid": redis.pid, "create_time": redis.create_time})
        del data["toolbox"], data["agent"]
        _write(tmp_path, data)
        stack.down(tmp_path)
        assert not redis.alive()
        assert not (tmp_path / "stack.json").exists()
    finally:
        procs.stop(redis)


def test_down_stops_unrecorded_processes_of_its_stack_only(tmp_path: Path) -> None:
    """Workers orphaned by a SIGKILLed master are found by their STAMPEDE_STACK marker."""
    data = _state(tmp_path)
    path = _write(tmp_path, data)
    marker = f"{tmp_path.resolve()}@{data['started_at']!r}"
    ours = procs.spawn(["sleep", "60"], tmp_path / "o.log", env={stack.MARKER_ENV: marker})
    other = procs.spawn(
        ["sleep", "60"], tmp_path / "p.log", env={stack.MARKER_ENV: marker + "-other"}
    )
    try:
        stack.down(tmp_path)
        assert not path.exists()
        wait_until(lambda: not ours.alive(), 5, "the orphan of this stack is stopped")
        assert other.alive(), "down stopped a process of another stack"
    finally:
        procs.stop(ours)
        procs.stop(other)


def test_down_with_a_malformed_state_file_keeps_it(tmp_path: Path) -> None:
    path = tmp_path / "stack.json"
    path.write_text("{truncated")
    with pytest.raises(InputError, match="not JSON"):
        stack.down(tmp_path)
    assert path.exists()
