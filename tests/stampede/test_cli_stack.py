"""`stampede up | down | status` as a user runs them: exit codes and one-line errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from stampede import cli, stack
from stampede.errors import HarnessError
from tests.stampede.helpers import REPO, stack_processes, write_dead_stack

TINY_APP = "tests.stampede.tiny_app:app"


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def stampede(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """Run ``stampede <args>`` in-process through ``cli.main`` (what the console script runs)."""

    def run(*args: str) -> Result:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["stampede", *args])
        with pytest.raises(SystemExit) as info:
            cli.main()
        out, err = capsys.readouterr()
        code = info.value.code
        return Result(code if isinstance(code, int) else 1, out, err)

    return run


def test_status_without_a_state_file_exits_2_with_one_line(
    tmp_path: Path, stampede: Callable[..., Result]
) -> None:
    result = stampede("status", "--state-dir", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert f"{tmp_path}/stack.json does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_up_with_an_unknown_weakness_exits_2_with_one_line(
    tmp_path: Path, stampede: Callable[..., Result]
) -> None:
    result = stampede("up", "--state-dir", str(tmp_path), "--weakness", "bogus")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "unknown weakness 'bogus'" in result.stderr
    assert "no_retries" in result.stderr
    assert not (tmp_path / "stack.json").exists()


def test_up_with_a_malformed_env_exits_2_with_one_line(
    tmp_path: Path, stampede: Callable[..., Result]
) -> None:
    result = stampede("up", "--state-dir", str(tmp_path), "--env", "NOEQUALS")
    assert result.returncode == 2
    assert result.stderr.strip() == "stampede: error: --env: expected KEY=VALUE, got 'NOEQUALS'"


def test_status_of_a_dead_stack_exits_1_and_shows_it_down(
    tmp_path: Path, stampede: Callable[..., Result]
) -> None:
    write_dead_stack(tmp_path)
    table = stampede("status", "--state-dir", str(tmp_path))
    assert table.returncode == 1
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["component", "pid", "port", "url", "state", "workers"]
    assert [line.split()[0] for line in lines[1:]] == ["redis", "toolbox", "agent"]
    assert all(" down" in line for line in lines[1:])
    assert lines[3].split()[-1] == "0/2"

    as_json = stampede("status", "--state-dir", str(tmp_path), "--json")
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert report["all_up"] is False
    assert report["components"]["agent"]["workers"] == {"expected": 2, "alive": 0, "pids": []}

    down = stampede("down", "--state-dir", str(tmp_path))
    assert down.returncode == 0, down.stderr
    assert not (tmp_path / "stack.json").exists()
    assert stampede("down", "--state-dir", str(tmp_path)).returncode == 0


def test_up_status_down_through_the_cli(
    tmp_path: Path, stampede: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    """up (table), up again (kept), up --restart (replaced), status 0, down, status 2."""
    monkeypatch.chdir(REPO)  # the trivial agent app is imported from the current directory
    up_args = ("up", "--state-dir", str(tmp_path), "--agent-app", TINY_APP, "--workers", "1")
    try:
        first = stampede(*up_args)
        assert first.returncode == 0, first.stderr
        assert [line.split()[0] for line in first.stdout.splitlines()[1:4]] == [
            "redis",
            "toolbox",
            "agent",
        ]
        assert "1/1" in first.stdout
        pid = json.loads((tmp_path / "stack.json").read_text())["agent"]["pid"]

        again = stampede(*up_args)
        assert again.returncode == 0
        assert "already running" in again.stderr
        assert json.loads((tmp_path / "stack.json").read_text())["agent"]["pid"] == pid

        restarted = stampede(*up_args, "--restart")
        assert restarted.returncode == 0, restarted.stderr
        assert json.loads((tmp_path / "stack.json").read_text())["agent"]["pid"] != pid

        single = stack.load_state(tmp_path / "stack.json")  # --workers 1: uvicorn has no master
        assert stack.agent_worker_pids(single) == [single.agent.pid]
        with pytest.raises(HarnessError, match="single process"):
            stack.restart_agent_workers(single)
        assert single.agent.proc.alive(), "SIGHUP would have killed a single-process agent"

        status = stampede("status", "--state-dir", str(tmp_path), "--json")
        assert status.returncode == 0
        assert json.loads(status.stdout)["all_up"] is True
    finally:
        down = stampede("down", "--state-dir", str(tmp_path))
    assert down.returncode == 0
    assert stack_processes(tmp_path) == []
    assert stampede("status", "--state-dir", str(tmp_path)).returncode == 2
