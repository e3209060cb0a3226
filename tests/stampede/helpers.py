"""Helpers shared by the local-stack tests: processes we start, latency, investigations."""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psutil

from stampede import procs

REPO = Path(__file__).resolve().parents[2]


def keepalive_p50_ms(url: str, requests: int = 200, warmup: int = 10) -> float:
    """Median latency of ``requests`` sequential GETs on one keep-alive connection."""
    with httpx.Client(trust_env=False, timeout=5.0) as client:
        for _ in range(warmup):
            client.get(url).raise_for_status()
        latencies = []
        for _ in range(requests):
            start = time.perf_counter()
            client.get(url).raise_for_status()
            latencies.append((time.perf_counter() - start) * 1000)
    return statistics.median(latencies)


def wait_until(predicate: Callable[[], bool], timeout_s: float, what: str) -> float:
    """Poll ``predicate`` every 50 ms; seconds it took, or AssertionError naming ``what``."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"{what}: not true after {timeout_s} s")
        time.sleep(0.05)
    return time.monotonic() - start


def gone(pid: int, create_time: float) -> bool:
    """True unless the very process (pid + create_time) still runs (zombies count as gone)."""
    return not procs.Proc(pid, create_time, "").alive()


def snapshot(pids: list[int]) -> list[tuple[int, float]]:
    """(pid, create_time) of the live processes among ``pids``."""
    found = []
    for pid in pids:
        try:
            found.append((pid, psutil.Process(pid).create_time()))
        except psutil.Error:
            continue
    return found


def dead_process() -> tuple[int, float]:
    """(pid, create_time) of a process that ran and exited."""
    popen = subprocess.Popen(["true"])
    create_time = psutil.Process(popen.pid).create_time()
    popen.wait(timeout=10)
    return popen.pid, create_time


def write_dead_stack(state_dir: Path, proxy: bool = False) -> dict[str, Any]:
    """Write ``state_dir/stack.json`` whose processes all ran and exited; its data.

    Two agent workers; ``proxy``: with a proxy entry (its own admin token).
    """
    pid, create_time = dead_process()
    dead = {"pid": pid, "create_time": create_time, "log": str(state_dir / "x.log")}
    data: dict[str, Any] = {
        "version": 1,
        "started_at": 1700000000.0,
        "admin_token": "toolbox-token",
        "redis": {**dead, "port": 6390, "url": "redis://127.0.0.1:6390/0", "executable": "r"},
        "toolbox": {**dead, "port": 8100, "url": "http://127.0.0.1:8100"},
        "agent": {**dead, "port": 8000, "url": "http://127.0.0.1:8000", "workers": 2},
    }
    if proxy:
        data["proxy"] = {
            **dead,
            "port": 8200,
            "url": "http://127.0.0.1:8200",
            "admin_token": "proxy-token",
            "upstreams": {"llm": "http://127.0.0.1:8100/v1"},
        }
    (state_dir / "stack.json").write_text(json.dumps(data))
    return data


def stack_processes(state_dir: Path) -> list[int]:
    """PIDs of live processes started by any stack of ``state_dir`` (their STAMPEDE_STACK)."""
    prefix = f"{state_dir.resolve()}@"
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            if proc.environ().get("STAMPEDE_STACK", "").startswith(prefix):
                found.append(proc.pid)
        except psutil.Error:
            continue
    return found
