"""`stampede up | down | status` as a user runs them: exit codes and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.stampede.helpers import dead_process


def _stampede(*args: str, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stampede.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def test_status_without_a_state_file_exits_2_with_one_line(tmp_path: Path) -> None:
    result = _stampede("status", "--state-dir", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert f"{tmp_path}/stack.json does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_up_with_an_unknown_weakness_exits_2_with_one_line(tmp_path: Path) -> None:
    result = _stampede("up", "--state-dir", str(tmp_path), "--weakness", "bogus")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "unknown weakness 'bogus'" in result.stderr
    assert "no_retries" in result.stderr
    assert not (tmp_path / "stack.json").exists()


def test_up_with_a_malformed_env_exits_2_with_one_line(tmp_path: Path) -> None:
    result = _stampede("up", "--state-dir", str(tmp_path), "--env", "NOEQUALS")
    assert result.returncode == 2
    assert result.stderr.strip() == "stampede: error: --env: expected KEY=VALUE, got 'NOEQUALS'"


def test_status_of_a_dead_stack_exits_1_and_shows_it_down(tmp_path: Path) -> None:
    pid, create_time = dead_process()
    proc = {"pid": pid, "create_time": create_time, "log": str(tmp_path / "x.log")}
    state = {
        "version": 1,
        "started_at": 1.0,
        "admin_token": "x",
        "redis": {**proc, "port": 1, "url": "redis://127.0.0.1:1/0", "executable": "r"},
        "toolbox": {**proc, "port": 2, "url": "http://127.0.0.1:2"},
        "agent": {**proc, "port": 3, "url": "http://127.0.0.1:3", "workers": 2},
    }
    (tmp_path / "stack.json").write_text(json.dumps(state))

    table = _stampede("status", "--state-dir", str(tmp_path))
    assert table.returncode == 1
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["component", "pid", "port", "url", "state", "workers"]
    assert [line.split()[0] for line in lines[1:]] == ["redis", "toolbox", "agent"]
    assert all(" down" in line for line in lines[1:])
    assert lines[3].split()[-1] == "0/2"

    as_json = _stampede("status", "--state-dir", str(tmp_path), "--json")
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert report["all_up"] is False
    assert report["components"]["agent"]["workers"] == {"expected": 2, "alive": 0, "pids": []}

    down = _stampede("down", "--state-dir", str(tmp_path))
    assert down.returncode == 0, down.stderr
    assert not (tmp_path / "stack.json").exists()
    assert _stampede("down", "--state-dir", str(tmp_path)).returncode == 0
